"""Bare-socket clients for the shutdown test, so that acknowledgements are under the test's control.

Usage:
  raw_shutdown.py HOST DIRECT_TLS_PORT hold ALICE_PW BOB_PW
      alice enables stream management (resumable) and receives a message from bob without acknowledging
      it; prints READY, then waits until both streams end and prints one JSON line with what each got.
  raw_shutdown.py HOST DIRECT_TLS_PORT offline ALICE_PW
      alice logs in, becomes available and prints one JSON line with the offline message bodies.
"""
import json
import re
import sys

from raw_xmpp import Raw

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def hold(alice_pw, bob_pw):
    alice = Raw(host, port, "alice", alice_pw, "phone")
    alice.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
    alice.expect("<enabled")
    alice.send("<presence/>")
    alice.expect("<presence")
    bob = Raw(host, port, "bob", bob_pw, "desk")
    bob.send("<presence/>")
    bob.send(f"<message to='{alice.jid}' type='chat' id='unacked'><body>kept across the shutdown</body></message>")
    alice.expect("kept across the shutdown")
    print("READY", flush=True)
    result = {}
    for name, client in (("alice", alice), ("bob", bob)):
        text = client.until_closed()
        result[name] = {"system_shutdown": "<system-shutdown" in text, "stream_closed": "</stream:stream>" in text}
    print(json.dumps(result), flush=True)


def offline(alice_pw):
    alice = Raw(host, port, "alice", alice_pw, "laptop")
    alice.send("<presence/>")
    text = alice.expect("kept across the shutdown")
    print(json.dumps({"bodies": re.findall(r"<body>([^<]*)</body>", text)}), flush=True)


if mode == "hold":
    hold(sys.argv[4], sys.argv[5])
else:
    offline(sys.argv[4])
