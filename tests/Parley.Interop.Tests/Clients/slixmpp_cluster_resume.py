"""python3-slixmpp resuming its stream on the group peer of a node that died under it.

Usage: slixmpp_cluster_resume.py HOST PORT_A PORT_B
alice (stream management with resumption) signs in on node a, bob on node b; they subscribe to each other and bob
sends alice m1 and m2. The script prints KILL and waits for alice's connection to drop; then bob sends m3 and alice's
client connects to node b at once: slixmpp resumes the stream there by itself (it keeps the stream id, but does not go
to <enabled location/> on its own, so the script gives it node b's address). Then bob sends m4 and alice answers.
Prints one JSON line; exits 0 only if every step happened.
"""
import asyncio
import sys

import slixmpp

from interop_common import accept_self_signed, run_scenario, wait_until

host, port_a, port_b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TIMEOUT = 30


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        # slixmpp would try -PLUS with tls-unique, which TLS 1.3 does not have.
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        accept_self_signed(self)
        self.register_plugin("xep_0198")
        self.bodies = []
        self.starts = 0
        self.resumed = 0
        self.disconnects = 0
        self.location = None
        self.contact_presences = 0
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("session_resumed", self.on_resumed)
        self.add_event_handler("sm_enabled", self.on_enabled)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("presence_available", self.on_available)

    async def on_start(self, _):
        self.starts += 1
        self.send_presence()
        await self.get_roster()

    def on_resumed(self, _):
        self.resumed += 1

    def on_enabled(self, enabled):
        self.location = enabled["location"] or None

    def on_disconnected(self, _):
        self.disconnects += 1

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.bodies.append(msg["body"])

    def on_available(self, presence):
        if presence["from"].bare != self.boundjid.bare:
            self.contact_presences += 1


async def scenario(result, clients, step):
    alice, bob = Client("alice@localhost/phone", "alice-secret"), Client("bob@localhost/desk", "bob-secret")
    clients += [alice, bob]
    alice.connect((host, port_a), force_starttls=True)
    bob.connect((host, port_b), force_starttls=True)
    step[0] = "log in"
    await wait_until(lambda: alice.starts and bob.starts and alice.location, "both signed in, alice with stream management", TIMEOUT)
    result["location"] = alice.location
    step[0] = "subscribe"
    alice.send_presence_subscription(pto="bob@localhost")
    await wait_until(lambda: alice.contact_presences and bob.contact_presences, "each sees the other available", TIMEOUT)
    step[0] = "chat on node a"
    for body in ("m1", "m2"):
        bob.send_message(mto="alice@localhost/phone", mbody=body, mtype="chat")
    await wait_until(lambda: alice.bodies == ["m1", "m2"], "alice got m1 and m2", TIMEOUT)
    # slixmpp answers the server's <r/> by itself: once it has, node b holds that m1 and m2 were received.
    await wait_until(lambda: alice.plugin["xep_0198"].handled >= 2, "alice counted m1 and m2", TIMEOUT)
    bob_presences = bob.contact_presences
    print("KILL", flush=True)
    step[0] = "node a killed"
    await wait_until(lambda: alice.disconnects, "alice's connection to drop", 60)
    bob.send_message(mto="alice@localhost/phone", mbody="m3", mtype="chat")
    step[0] = "resume on node b"
    # Node b may not know yet that node a is dead: it answers once its lease has run out and it has taken over.
    alice.connect((host, port_b), force_starttls=True)
    await wait_until(lambda: alice.resumed or alice.starts > 1, "alice to resume or start again", TIMEOUT)
    result["resumed"] = alice.resumed
    result["starts"] = alice.starts
    await wait_until(lambda: "m3" in alice.bodies, "alice got m3", TIMEOUT)
    step[0] = "chat on node b"
    bob.send_message(mto="alice@localhost/phone", mbody="m4", mtype="chat")
    await wait_until(lambda: "m4" in alice.bodies, "alice got m4", TIMEOUT)
    alice.send_message(mto="bob@localhost", mbody="back on node b", mtype="chat")
    await wait_until(lambda: "back on node b" in bob.bodies, "bob got alice's answer", TIMEOUT)
    result["bodies"] = alice.bodies
    result["bob_saw_alice_again"] = bob.contact_presences > bob_presences
    result["alice_port"] = alice.transport.get_extra_info("peername")[1]


run_scenario(scenario)
