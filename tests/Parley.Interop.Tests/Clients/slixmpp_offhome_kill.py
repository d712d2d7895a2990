"""A Parley cluster with Cluster:Redirect off: alice has one slixmpp session on node A (her home) and one on node B
(served there through A); bob is on A. Bob's message to alice's bare JID reaches both. Then the script says
"kill node B now", waits until B's client port refuses connections (the test SIGKILLs it), and shows that bob sees
alice's resource on B go unavailable and that her session on A keeps working both ways.

Usage: slixmpp_offhome_kill.py HOST A_PORT B_PORT ALICE_JID ALICE_PASSWORD BOB_JID BOB_PASSWORD
Prints one JSON line with what happened; exits 0 only if everything arrived.
"""
import asyncio
import socket
import sys

from interop_common import run_scenario, wait_until
from slixmpp_session import SessionClient

host, a_port, b_port, alice_jid, alice_pw, bob_jid, bob_pw = sys.argv[1:8]
TIMEOUT = 30


class Client(SessionClient):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.bodies = []
        self.available = set()
        self.unavailable = set()
        self.add_event_handler("message", lambda msg: msg["type"] in ("chat", "normal") and self.bodies.append(msg["body"]))
        self.add_event_handler("presence_available", lambda p: self.available.add(str(p["from"])))
        self.add_event_handler("presence_unavailable", lambda p: self.unavailable.add(str(p["from"])))


def refuses(port):
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return False
    except OSError:
        return True


async def scenario(result, clients, step):
    bob, at_home, away = Client(bob_jid, bob_pw), Client(alice_jid, alice_pw), Client(alice_jid, alice_pw)
    clients += [bob, at_home, away]
    step[0] = "log in"
    bob.connect((host, int(a_port)), force_starttls=True)
    at_home.connect((host, int(a_port)), force_starttls=True)
    away.connect((host, int(b_port)), force_starttls=True)
    result["bob"] = await asyncio.wait_for(bob.ready, TIMEOUT)
    result["at_home"] = await asyncio.wait_for(at_home.ready, TIMEOUT)
    result["away"] = await asyncio.wait_for(away.ready, TIMEOUT)
    # slixmpp approves and returns the request by itself (auto_authorize, auto_subscribe).
    step[0] = "subscribe"
    at_home.send_presence_subscription(pto=bob_jid)
    await wait_until(lambda: {result["at_home"], result["away"]} <= bob.available, "bob sees both of alice's resources", TIMEOUT)

    step[0] = "message to the bare JID"
    bob.send_message(mto=alice_jid, mbody="to both", mtype="chat")
    await wait_until(lambda: "to both" in at_home.bodies and "to both" in away.bodies, "both of alice's sessions get it", TIMEOUT)

    step[0] = "node B killed"
    print("kill node B now", flush=True)
    await wait_until(lambda: refuses(b_port), "node B is gone", TIMEOUT)
    await wait_until(lambda: result["away"] in bob.unavailable, "bob sees alice's resource on B go", TIMEOUT)
    result["bob_saw_away_go"] = True

    step[0] = "after the kill"
    bob.send_message(mto=alice_jid, mbody="still there?", mtype="chat")
    await wait_until(lambda: "still there?" in at_home.bodies, "alice's session on A gets it", TIMEOUT)
    at_home.send_message(mto=bob_jid, mbody="yes", mtype="chat")
    await wait_until(lambda: "yes" in bob.bodies, "bob gets her answer", TIMEOUT)
    result["at_home_bodies"] = at_home.bodies
    result["bob_bodies"] = bob.bodies
    result["at_home_stream_errors"] = at_home.stream_errors


run_scenario(scenario)
