"""Four nodes in two redundancy groups, one slixmpp client per user, through a failure and back.

Each user first connects to a node that is not its home and follows <see-other-host/>; all see each other's
presence (their rosters were imported beforehand) and chat every pair. Then the script SIGKILLs the nodes named in
"kill" (their PIDs are in the config), and while their users are away every other user sends each of them a message.
(With "away_messages" false they send none.) The users of the killed nodes sign in again at their group peer (the next address in their list) and must be back,
seen available by a contact, and find every message sent to them while away exactly once. A user with
"stream_management" true uses XEP-0198 with resumption: its client is not signed in again but resumes its stream at the
peer (slixmpp keeps the stream's id; the script gives it the peer's address, as the test knows slixmpp does not go to
<enabled location/> by itself), and the messages sent meanwhile must arrive on the resumed stream, exactly once. The script prints BACK and
waits while the test restarts the killed nodes; the peers then send their users home with <see-other-host/> (the
fallback), they follow it, are seen again, and every pair chats once more.

Before the kill all of them join one room and each reads everyone's groupchat there. With "redirect": false the nodes
serve users where they connect: the users whose connection was on a killed node come back, and nobody is sent home.

Usage: slixmpp_cluster_four.py CONFIG_JSON
CONFIG_JSON: {"host": H, "nodes": {"a": {"port": P, "pid": PID}, ...}, "kill": ["a", "c"], "peer": {"a": "b", "c": "d"},
              "redirect": true, "room": "team@conference.localhost", "away_messages": true,
              "users": [{"jid": J, "password": PW, "home": "a", "first": "b", "stream_management": false}, ...]}
Prints one JSON line with what happened; exits 0 only if every step completed.
"""
import asyncio
import json
import os
import signal
import sys
import time

from interop_common import run_scenario, wait_until
from slixmpp_session import SessionClient

config = json.loads(sys.argv[1])
host = config["host"]
nodes = config["nodes"]
users = config["users"]
redirect = config["redirect"]
TIMEOUT = 60


def node_of(user):
    """The node that holds the user's connection until the kill."""
    return user["home"] if redirect else user["first"]


class Client(SessionClient):
    def __init__(self, jid, password, stream_management=False):
        super().__init__(jid, password)
        loop = asyncio.get_event_loop()
        self.redirected = loop.create_future()
        self.failed = loop.create_future()
        self.lost = loop.create_future()
        self.starts = 0
        self.resumed = 0
        if stream_management:
            self.register_plugin("xep_0198")
            self.add_event_handler("session_resumed", self.on_resumed)
        self.add_event_handler("session_start", self.on_session_start)
        # (monotonic time, full JID) of every available presence from a contact
        self.seen_available = []
        self.bodies = []
        self.groupchat = []
        self.occupants = set()
        self.register_plugin("xep_0045")
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("groupchat_presence", self.on_room_presence)
        self.add_event_handler("presence_available", self.on_available)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))
        self.add_event_handler("connection_failed", lambda _: self.fail("connection failed"))
        self.add_event_handler("disconnected", self.on_disconnected)

    def reconnect(self, wait=2.0, reason="Reconnecting"):
        # slixmpp follows <see-other-host/> to the JID's domain, and retries lost connections, by itself: the script
        # decides where each user signs in again.
        pass

    def on_session_start(self, _):
        self.starts += 1

    def on_resumed(self, _):
        self.resumed += 1

    def on_disconnected(self, _):
        self.fail("disconnected")
        if not self.lost.done():
            self.lost.set_result(True)

    def fail(self, why):
        if not self.failed.done():
            self.failed.set_result(why)

    def on_stream_error(self, error):
        super().on_stream_error(error)
        if error["condition"] == "see-other-host" and not self.redirected.done():
            self.redirected.set_result(int(error["see_other_host"].rpartition(":")[2]))

    def on_message(self, msg):
        if msg["type"] == "chat" and msg["body"]:
            self.bodies.append(msg["body"])

    def on_groupchat(self, message):
        # Occupants' messages said now: not the room's own notices, not the history (delayed).
        if message["from"].resource and message.xml.find("{urn:xmpp:delay}delay") is None:
            self.groupchat.append(message["body"])

    def on_room_presence(self, presence):
        if presence["type"] != "unavailable":
            self.occupants.add(presence["from"].resource)

    def on_available(self, presence):
        if presence["from"].bare != self.boundjid.bare:
            self.seen_available.append((time.monotonic(), str(presence["from"])))

    def port(self):
        return self.transport.get_extra_info("peername")[1]


def port_of(node):
    return nodes[node]["port"]


async def sign_in(clients, user, ports, timeout=TIMEOUT):
    """Connects to ports in turn until a node serves the user, following <see-other-host/>; returns the client and its hops."""
    deadline = time.monotonic() + timeout
    target, tried, hops = ports[0], 0, []
    while True:
        client = Client(user["jid"], user["password"], user.get("stream_management", False))
        clients.append(client)
        client.connect((host, target), force_starttls=True)
        await asyncio.wait([client.ready, client.redirected, client.failed], timeout=max(0.1, deadline - time.monotonic()),
                           return_when=asyncio.FIRST_COMPLETED)
        if client.ready.done():
            return client, hops
        drop(client)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{user['jid']} was not signed in by any of {ports}: {hops}")
        if client.redirected.done():
            hops.append(f"see-other-host {client.redirected.result()}")
            target = client.redirected.result()
        else:
            # The node refused or is gone (a see-other-host may name a node that just died): the next address.
            hops.append(f"{target}: {client.failed.result() if client.failed.done() else 'no answer'}")
            tried += 1
            target = ports[tried % len(ports)]
            await asyncio.sleep(0.2)


async def resume(client, port, timeout=TIMEOUT):
    """Connects the client whose node died, with its stream-management state, to port: slixmpp resumes there."""
    await asyncio.wait_for(asyncio.shield(client.lost), timeout)
    starts = client.starts
    client.connect((host, port), force_starttls=True)
    await wait_until(lambda: client.resumed or client.starts > starts, f"{client.boundjid} to resume or start again", timeout)
    return {"resumed": client.resumed, "started_again": client.starts > starts}


def drop(client):
    """Stops a client for good, whatever state its connection is in."""
    client.cancel_connection_attempt()
    if client.transport is not None and not client.transport.is_closing():
        client.transport.abort()


def seen_by_all(session, others, jid, since=0):
    """Every other session has seen jid available (after the monotonic time since)."""
    return all(any(full == jid and when > since for when, full in other.seen_available) for other in others if other is not session)


async def chat_every_pair(result, sessions, tag):
    for sender in users:
        for receiver in users:
            if sender is not receiver:
                sessions[sender["jid"]].send_message(mto=receiver["jid"], mbody=f"{tag} {sender['jid']} to {receiver['jid']}", mtype="chat")
    expected = {u["jid"]: sorted(f"{tag} {s['jid']} to {u['jid']}" for s in users if s is not u) for u in users}
    # The sessions' own lists: what arrived shows in the result even when the wait times out.
    result[f"{tag}_received"] = {jid: sessions[jid].bodies for jid in expected}
    await wait_until(lambda: all(sorted(b for b in sessions[j].bodies if b.startswith(tag + " ")) == expected[j] for j in expected),
                     f"every pair's '{tag}' message", TIMEOUT)


async def scenario(result, clients, step):
    sessions = {}
    step[0] = "log in"
    result["first_hops"] = {}
    for user in users:
        client, hops = await sign_in(clients, user, [port_of(user["first"])])
        sessions[user["jid"]] = client
        result["first_hops"][user["jid"]] = hops
    result["served_by"] = {jid: client.port() for jid, client in sessions.items()}
    step[0] = "presence"
    await wait_until(lambda: all(seen_by_all(c, sessions.values(), str(c.boundjid)) for c in sessions.values()),
                     "every user seen available by every other", TIMEOUT)
    step[0] = "chat"
    await chat_every_pair(result, sessions, "before")
    del result["before_received"]

    step[0] = "room"
    room, nicks = config["room"], [u["jid"].split("@")[0] for u in users]
    result["occupants"] = {u["jid"]: sessions[u["jid"]].occupants for u in users}
    for user, nick in zip(users, nicks):
        step[0] = f"room: {nick} joins"
        muc = sessions[user["jid"]].plugin["xep_0045"]
        await muc.join_muc_wait(room, nick, maxstanzas=0, timeout=TIMEOUT)
        if user is users[0]:
            # A client that speaks MUC gets a new room locked; the default configuration unlocks it.
            await muc.set_room_config(room, await muc.get_room_config(room))
    step[0] = "room: occupants"
    await wait_until(lambda: all(set(nicks) <= c.occupants for c in sessions.values()), "every occupant seen by every other", TIMEOUT)
    result["occupants"] = {jid: sorted(o) for jid, o in result["occupants"].items()}
    said = [f"in the room from {nick}" for nick in nicks]
    for user, line in zip(users, said):
        sessions[user["jid"]].send_message(mto=room, mbody=line, mtype="groupchat")
    result["room_read"] = {u["jid"]: sessions[u["jid"]].groupchat for u in users}
    await wait_until(lambda: all(sorted(c.groupchat) == sorted(said) for c in sessions.values()), "every groupchat message at every occupant", TIMEOUT)
    del result["room_read"]
    del result["occupants"]

    step[0] = "kill"
    moved = [u for u in users if node_of(u) in config["kill"]]
    stayed = [u for u in users if node_of(u) not in config["kill"]]
    killed_at = time.monotonic()
    for node in config["kill"]:
        os.kill(nodes[node]["pid"], signal.SIGKILL)
    for user in moved:
        # A stream-management client keeps its stream to resume it: its connection dies with the node.
        if not user.get("stream_management"):
            drop(sessions[user["jid"]])
    for sender in stayed if config["away_messages"] else []:
        for user in moved:
            sessions[sender["jid"]].send_message(mto=user["jid"], mbody=f"away {sender['jid']} to {user['jid']}", mtype="chat")

    step[0] = "failover"
    result["failover_hops"] = {}
    result["resumption"] = {}
    for user in moved:
        peer = port_of(config["peer"][node_of(user)])
        if user.get("stream_management"):
            result["resumption"][user["jid"]] = await resume(sessions[user["jid"]], peer)
            continue
        client, hops = await sign_in(clients, user, [peer])
        sessions[user["jid"]] = client
        result["failover_hops"][user["jid"]] = hops
    await wait_until(lambda: all(seen_by_all(sessions[u["jid"]], [sessions[s["jid"]] for s in stayed], str(sessions[u["jid"]].boundjid), killed_at) for u in moved),
                     "the moved users seen available again by those who stayed", TIMEOUT)
    result["failover_seconds"] = max(
        when - killed_at for s in stayed for when, full in sessions[s["jid"]].seen_available
        if when > killed_at and any(full == str(sessions[u["jid"]].boundjid) for u in moved))
    result["moved_served_by"] = {u["jid"]: sessions[u["jid"]].port() for u in moved}
    result["away_received"] = {u["jid"]: sessions[u["jid"]].bodies for u in moved}
    expected_away = len(stayed) if config["away_messages"] else 0
    await wait_until(lambda: all(sum(1 for b in sessions[u["jid"]].bodies if b.startswith("away ")) >= expected_away for u in moved),
                     "the messages sent while they were away", TIMEOUT)
    result["away_received"] = {u["jid"]: sorted(b for b in sessions[u["jid"]].bodies if b.startswith("away ")) for u in moved}

    step[0] = "fallback"
    print("BACK", flush=True)
    result["fallback_hops"] = {}
    for user in moved if redirect else []:
        away = sessions[user["jid"]]
        await asyncio.wait_for(asyncio.shield(away.redirected), TIMEOUT)
        drop(away)
        client, hops = await sign_in(clients, user, [away.redirected.result()])
        sessions[user["jid"]] = client
        result["fallback_hops"][user["jid"]] = hops
    await wait_until(lambda: all(seen_by_all(sessions[u["jid"]], sessions.values(), str(sessions[u["jid"]].boundjid)) for u in moved),
                     "the moved users seen available by every other", TIMEOUT)
    result["home_served_by"] = {u["jid"]: sessions[u["jid"]].port() for u in moved}
    step[0] = "chat after fallback"
    await chat_every_pair(result, sessions, "after")
    del result["after_received"]
    result["done"] = True


run_scenario(scenario)
