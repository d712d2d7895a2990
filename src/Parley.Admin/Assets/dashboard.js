// The dashboard's live figures and plots: polls the page's JSON handler for every node's new samples and redraws,
// one series per node in each plot.
(function () {
  "use strict";
  var url = document.getElementById("figures").dataset.samples;
  var keys = ["sessions", "loginsPerSecond", "messagesPerSecond", "presencePerSecond", "cpuPercent", "memoryMiB"];
  var colors = ["#1f6feb", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a", "#0a3069", "#bc4c00"];
  var hour = 3600;
  var nodes = [];
  var columns = {};
  var plots = [];

  function emptyColumns() {
    var node = { time: [] };
    keys.forEach(function (key) { node[key] = []; });
    return node;
  }

  // Each node samples on its own clock tick: the plots put all nodes' times on one axis and join the gaps.
  function aligned(key) {
    var seen = {};
    nodes.forEach(function (node) { columns[node].time.forEach(function (t) { seen[t] = true; }); });
    var times = Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
    var series = nodes.map(function (node) {
      var at = {};
      columns[node].time.forEach(function (t, i) { at[t] = columns[node][key][i]; });
      return times.map(function (t) { return t in at ? at[t] : null; });
    });
    return [times].concat(series);
  }

  function drawPlots() {
    plots.forEach(function (p) { p.chart.destroy(); });
    plots = [];
    document.querySelectorAll(".plot").forEach(function (element) {
      if (typeof uPlot === "undefined") {
        element.textContent = "The chart library was not installed with this node (npm was missing at build time).";
        return;
      }
      var key = element.dataset.key;
      var options = {
        width: element.clientWidth || 600,
        height: 180,
        series: [{}].concat(nodes.map(function (node, i) {
          return { label: node, stroke: colors[i % colors.length], width: 2, spanGaps: true };
        })),
        axes: [{}, {}],
      };
      plots.push({ chart: new uPlot(options, aligned(key), element), key: key });
    });
  }

  function text(value, digits) {
    return Number(value.toFixed(digits)).toString();
  }

  function row(report) {
    var tr = document.querySelector("#node-figures tr[data-node='" + CSS.escape(report.node) + "']");
    if (tr === null) {
      tr = document.createElement("tr");
      tr.dataset.node = report.node;
      var name = document.createElement("td");
      name.textContent = report.node;
      tr.appendChild(name);
      keys.concat(["state"]).forEach(function (key) {
        var cell = document.createElement("td");
        cell.className = key;
        tr.appendChild(cell);
      });
      document.querySelector("#node-figures tbody").appendChild(tr);
    }
    return tr;
  }

  function take(reports) {
    var newNode = false;
    var totals = { sessions: 0, loginsPerSecond: 0, messagesPerSecond: 0, presencePerSecond: 0 };
    reports.forEach(function (report) {
      if (!(report.node in columns)) {
        columns[report.node] = emptyColumns();
        nodes.push(report.node);
        newNode = true;
      }
      var node = columns[report.node];
      var last = node.time.length > 0 ? node.time[node.time.length - 1] : 0;
      report.samples.forEach(function (sample) {
        if (sample.time > last) {
          node.time.push(sample.time);
          keys.forEach(function (key) { node[key].push(sample[key]); });
          last = sample.time;
        }
      });
      while (node.time.length > 0 && node.time[0] < last - hour) {
        node.time.shift();
        keys.forEach(function (key) { node[key].shift(); });
      }
      var tr = row(report);
      var state = tr.querySelector(".state");
      state.textContent = report.answering ? "answering" : report.problem;
      state.classList.toggle("expiring", !report.answering);
      if (report.answering && node.time.length > 0) {
        var i = node.time.length - 1;
        keys.forEach(function (key) { tr.querySelector("." + key).textContent = text(node[key][i], key === "cpuPercent" ? 1 : 2); });
        Object.keys(totals).forEach(function (key) { totals[key] += node[key][i]; });
      }
    });
    document.getElementById("sessions").textContent = text(totals.sessions, 0);
    document.getElementById("logins").textContent = text(totals.loginsPerSecond, 2);
    document.getElementById("messages").textContent = text(totals.messagesPerSecond, 2);
    document.getElementById("presence").textContent = text(totals.presencePerSecond, 2);
    if (newNode) {
      drawPlots();
    } else {
      plots.forEach(function (p) { p.chart.setData(aligned(p.key)); });
    }
    document.body.dataset.samples = String(plots.length > 0 ? plots[0].chart.data[0].length : 0);
  }

  // From the oldest of the nodes' latest samples: a node whose clock is behind the others' misses none.
  function after() {
    if (nodes.length === 0) {
      return 0;
    }
    return Math.min.apply(null, nodes.map(function (node) {
      var time = columns[node].time;
      return time.length > 0 ? time[time.length - 1] : 0;
    }));
  }

  function poll() {
    fetch(url + "&after=" + after(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (reports) {
        document.getElementById("stale").hidden = true;
        take(reports);
      })
      .catch(function () { document.getElementById("stale").hidden = false; })
      .finally(function () { setTimeout(poll, 2000); });
  }

  poll();
})();
