"""Clients for the cluster crash test: alice (stream management) on one node sends numbered chat messages to bob on
another node, asking for an acknowledgement after each, while the test kills one of the two nodes.

Usage: raw_crash_cluster.py HOST ALICE_PORT BOB_PORT ALICE_PW BOB_PW
Prints READY, then "received N" as bob's count passes each multiple of 50. When bob's node dies alice sends 50 more
(they wait for bob's lease to run out on her node) and asks for the final acknowledgement; when alice's node dies bob
reads until nothing has come for 3 s. Then one JSON line: {"acked": the last h alice's node acknowledged, "sent":
messages sent, "errors": ids of the messages that came back as errors, "received": the bodies bob got,
"alice_last": the end of what alice's node sent her}.
"""
import json
import re
import sys
import time

from raw_xmpp import Raw

host, alice_port, bob_port, alice_pw, bob_pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]

bob = Raw(host, bob_port, "bob", bob_pw, "desk")
bob.send("<presence/>")
bob.expect("<presence")
alice = Raw(host, alice_port, "alice", alice_pw, "phone")
alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
alice.expect("<enabled")
print("READY", flush=True)


def send(n):
    alice.send(f"<message to='bob@localhost' type='chat' id='m{n}'><body>m{n}</body></message><r xmlns='urn:xmpp:sm:3'/>")


sent = 0
alice_up = bob_up = True
reported = 0
deadline = time.monotonic() + 120
while alice_up and bob_up and time.monotonic() < deadline:
    try:
        send(sent + 1)
        sent += 1
    except OSError:
        alice_up = False
    alice_up = alice.read_some(0.001) and alice_up
    bob_up = bob.read_some(0.001)
    count = bob.text.count("<body>")
    if count // 50 > reported:
        reported = count // 50
        print(f"received {reported * 50}", flush=True)


def last_ack():
    return max((int(h) for h in re.findall(r"<a [^>]*h=['\"](\d+)['\"]", alice.text)), default=0)


if alice_up:
    # Bob's node is gone: what alice sends now waits on her node until bob is served elsewhere.
    for _ in range(50):
        send(sent + 1)
        sent += 1
    while last_ack() < sent and time.monotonic() < deadline and alice.read_some(0.5):
        pass
else:
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 3 and time.monotonic() < deadline:
        before = len(bob.text)
        if not bob.read_some(0.5):
            break
        if len(bob.text) > before:
            quiet_since = time.monotonic()

errors = re.findall(r"<message [^>]*(?:type=['\"]error['\"][^>]*id=['\"](m\d+)['\"]|id=['\"](m\d+)['\"][^>]*type=['\"]error['\"])", alice.text)
received = re.findall(r"<body>(m\d+)</body>", bob.text)
print(json.dumps({"acked": last_ack(), "sent": sent, "errors": [a or b for a, b in errors], "received": received,
                  "alice_last": alice.text[-400:]}), flush=True)
