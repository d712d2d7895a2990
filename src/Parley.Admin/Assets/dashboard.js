// The dashboard's live figures and plots: polls the page's JSON handler for new samples and redraws.
(function () {
  "use strict";
  var figures = document.getElementById("figures");
  var url = figures.dataset.samples;
  var last = 0;
  var columns = { time: [], sessions: [], loginsPerSecond: [], messagesPerSecond: [], presencePerSecond: [], cpuPercent: [], memoryMiB: [] };
  var hour = 3600;
  var plots = [];

  function plot(id, series) {
    var element = document.getElementById(id);
    if (typeof uPlot === "undefined") {
      element.textContent = "The chart library was not installed with this node (npm was missing at build time).";
      return;
    }
    var options = {
      width: element.clientWidth || 600,
      height: 200,
      series: [{}].concat(series.map(function (s) { return { label: s.label, stroke: s.color, width: 2 }; })),
      axes: [{}, {}],
    };
    plots.push({ chart: new uPlot(options, [[]].concat(series.map(function () { return []; })), element), keys: series.map(function (s) { return s.key; }) });
  }

  plot("plot-sessions", [{ key: "sessions", label: "sessions", color: "#1f6feb" }]);
  plot("plot-rates", [
    { key: "loginsPerSecond", label: "logins/s", color: "#8250df" },
    { key: "messagesPerSecond", label: "messages/s", color: "#1a7f37" },
    { key: "presencePerSecond", label: "presence/s", color: "#bf8700" },
  ]);
  plot("plot-resources", [
    { key: "cpuPercent", label: "CPU %", color: "#cf222e" },
    { key: "memoryMiB", label: "memory MiB", color: "#57606a" },
  ]);

  function show(id, value, digits) {
    document.getElementById(id).textContent = Number(value.toFixed(digits)).toString();
  }

  function take(samples) {
    samples.forEach(function (sample) {
      Object.keys(columns).forEach(function (key) { columns[key].push(sample[key]); });
      last = sample.time;
    });
    while (columns.time.length > 0 && columns.time[0] < last - hour) {
      Object.keys(columns).forEach(function (key) { columns[key].shift(); });
    }
    if (samples.length === 0) {
      return;
    }
    var latest = samples[samples.length - 1];
    show("sessions", latest.sessions, 0);
    show("logins", latest.loginsPerSecond, 2);
    show("messages", latest.messagesPerSecond, 2);
    show("presence", latest.presencePerSecond, 2);
    show("cpu", latest.cpuPercent, 1);
    show("memory", latest.memoryMiB, 0);
    plots.forEach(function (p) {
      p.chart.setData([columns.time].concat(p.keys.map(function (key) { return columns[key]; })));
    });
    document.body.dataset.samples = String(columns.time.length);
  }

  function poll() {
    fetch(url + "&after=" + last, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (samples) {
        document.getElementById("stale").hidden = true;
        take(samples);
      })
      .catch(function () { document.getElementById("stale").hidden = false; })
      .finally(function () { setTimeout(poll, 2000); });
  }

  poll();
})();
