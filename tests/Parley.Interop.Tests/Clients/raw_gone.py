"""Clients for the test that a session its client cannot resume ends on the group peer when its node is killed.

Usage: raw_gone.py HOST DIRECT_TLS_PORT_A DIRECT_TLS_PORT_B ROOM
ROOM runs on node b. bob signs in on node b and joins ROOM; alice signs in on node a, enables stream management
without resumption, becomes bob's contact both ways and joins ROOM; she prints KILL once node b holds all that, and
never comes back. bob then waits (60 s at most) for her unavailable presence as his contact and as the room's
occupant.
Prints one JSON line: what bob got of alice's going after the kill, and how long after it.
"""
import json
import sys
import time

from raw_xmpp import Raw, wait_for, wait_for_tag

host, port_a, port_b, room = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SM = "urn:xmpp:sm:3"

bob = Raw(host, port_b, "bob", "bob-secret", "desk")
bob.send("<presence/>")
bob.send(f"<presence to='{room}/bob'/>")
wait_for_tag(bob, "presence", **{"from": f"{room}/bob"})

alice = Raw(host, port_a, "alice", "alice-secret", "phone")
alice.send("<presence/>")
alice.send(f"<enable xmlns='{SM}'/>")
wait_for(alice, r"<enabled [^>]*/>")
alice.send("<presence to='bob@localhost' type='subscribe'/>")
wait_for_tag(bob, "presence", **{"from": "alice@localhost", "type": "subscribe"})
bob.send("<presence to='alice@localhost' type='subscribed'/>")
bob.send("<presence to='alice@localhost' type='subscribe'/>")
wait_for_tag(alice, "presence", **{"from": "bob@localhost", "type": "subscribe"})
alice.send("<presence to='bob@localhost' type='subscribed'/>")
wait_for_tag(bob, "presence", **{"from": "alice@localhost/phone"})
alice.send(f"<presence to='{room}/alice'/>")
wait_for_tag(bob, "presence", **{"from": f"{room}/alice"})
# The server's answer to <r/> comes once node b holds everything before it.
alice.send(f"<r xmlns='{SM}'/>")
wait_for(alice, r"<a xmlns=['\"]urn:xmpp:sm:3['\"] h=")
since = len(bob.text)
print("KILL", flush=True)
alice.until_closed()
killed = time.monotonic()


def gone(**attributes):
    try:
        return wait_for_tag(bob, "presence", since=since, seconds=max(1, 60 - (time.monotonic() - killed)), type="unavailable", **attributes) is not None
    except TimeoutError:
        return False


print(json.dumps({
    "contact_unavailable": gone(**{"from": "alice@localhost/phone"}),
    "room_unavailable": gone(**{"from": f"{room}/alice"}),
    "seconds": round(time.monotonic() - killed, 1),
}), flush=True)
