"""Two slixmpp clients of a Parley cluster in one room: alice joins (creating the room if it is new), bob joins, each
sees the other's presence in the room and both read each other's groupchat.
PHASE "chat": on two nodes; the room runs on one of them, so one client reaches it across the cluster's bus.
PHASE "after-kill": the room's node was killed; both join again (on the node that is left) with history.

Usage: slixmpp_cluster_muc.py HOST ROOM PHASE ALICE_PORT ALICE_JID ALICE_PASSWORD BOB_PORT BOB_JID BOB_PASSWORD
Prints one JSON line with what happened; exits 0 only if everything arrived.
"""
import asyncio
import sys

import slixmpp

from interop_common import TIMEOUT, accept_self_signed, run_scenario, wait_until

host, room, phase, alice_port, alice_jid, alice_pw, bob_port, bob_jid, bob_pw = sys.argv[1:10]
said = {"chat": ("hello from node a", "hello from node b"), "after-kill": ("alice after the kill", "bob after the kill")}[phase]


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        accept_self_signed(self)
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.ready = asyncio.get_event_loop().create_future()
        self.groupchat = []
        self.occupants = set()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("groupchat_presence", self.on_room_presence)

    async def on_start(self, _):
        self.send_presence()
        self.ready.set_result(True)

    def on_groupchat(self, message):
        # Occupants' messages said now: not the room's own notice that it is locked, not the history (delayed).
        if message["from"].resource and message.xml.find("{urn:xmpp:delay}delay") is None:
            self.groupchat.append(message["body"])

    def on_room_presence(self, presence):
        if presence["type"] != "unavailable":
            self.occupants.add(presence["from"].resource)

    @property
    def muc(self):
        return self.plugin["xep_0045"]

    def peer_port(self):
        return self.transport.get_extra_info("peername")[1]


async def scenario(result, clients, step):
    alice, bob = Client(alice_jid, alice_pw), Client(bob_jid, bob_pw)
    clients += [alice, bob]
    alice.connect((host, int(alice_port)), force_starttls=True)
    bob.connect((host, int(bob_port)), force_starttls=True)
    step[0] = "log in"
    await asyncio.wait_for(asyncio.gather(alice.ready, bob.ready), TIMEOUT)
    result["alice_port"] = alice.peer_port()
    result["bob_port"] = bob.peer_port()

    step[0] = "alice joins"
    _, _, _, history = await alice.muc.join_muc_wait(room, "Alice", maxstanzas=10, timeout=TIMEOUT)
    result["history"] = [m["body"] for m in history]
    # A client that speaks MUC gets a new room locked; the default configuration unlocks it.
    await alice.muc.set_room_config(room, await alice.muc.get_room_config(room))
    step[0] = "bob joins"
    await bob.muc.join_muc_wait(room, "Bob", maxstanzas=0, timeout=TIMEOUT)
    await wait_until(lambda: "Bob" in alice.occupants, "bob's presence at alice")
    result["alice_sees"] = sorted(alice.occupants)
    result["bob_sees"] = sorted(bob.occupants)

    step[0] = "groupchat"
    alice.send_message(mto=room, mbody=said[0], mtype="groupchat")
    bob.send_message(mto=room, mbody=said[1], mtype="groupchat")
    await wait_until(lambda: set(said) <= set(alice.groupchat) and set(said) <= set(bob.groupchat), "both messages at both")
    result["alice_read"] = sorted(alice.groupchat)
    result["bob_read"] = sorted(bob.groupchat)


run_scenario(scenario)
