"""Clients for the crash test: alice (stream management) sends numbered chat messages to bob, asking for an
acknowledgement after each, until the node dies under them.

Usage: raw_crash.py HOST DIRECT_TLS_PORT ALICE_PW BOB_PW
Prints READY, then "received N" as bob's count passes each multiple of 50, and once both connections are gone one
JSON line: {"acked": the last h the server acknowledged, "sent": messages sent, "received": the bodies bob got}.
"""
import json
import re
import sys
import time

from raw_xmpp import Raw

host, port, alice_pw, bob_pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

bob = Raw(host, port, "bob", bob_pw, "desk")
bob.send("<presence/>")
bob.expect("<presence")
alice = Raw(host, port, "alice", alice_pw, "phone")
alice.send("<enable xmlns='urn:xmpp:sm:3'/>")
alice.expect("<enabled")
print("READY", flush=True)

sent = 0
alice_up = bob_up = True
reported = 0
deadline = time.monotonic() + 120
while (alice_up or bob_up) and time.monotonic() < deadline:
    if alice_up:
        try:
            alice.send(f"<message to='bob@localhost' type='chat' id='m{sent + 1}'><body>m{sent + 1}</body></message>"
                       "<r xmlns='urn:xmpp:sm:3'/>")
            sent += 1
        except OSError:
            alice_up = False
        alice_up = alice.read_some(0.001) and alice_up
    if bob_up:
        bob_up = bob.read_some(0.001)
        count = bob.text.count("<body>")
        if count // 50 > reported:
            reported = count // 50
            print(f"received {reported * 50}", flush=True)

acked = max((int(h) for h in re.findall(r"<a [^>]*h=['\"](\d+)['\"]", alice.text)), default=0)
received = re.findall(r"<body>(m\d+)</body>", bob.text)
print(json.dumps({"acked": acked, "sent": sent, "received": received}), flush=True)
