"""What users keep across `parley storage migrate`, seen by python3-slixmpp.

Usage: slixmpp_migrate.py HOST PORT before|after ALICE_JID ALICE_PW BOB_JID BOB_PW
  before: Alice names Bob in her roster, they chat (Bob notes each message's XEP-0359 stanza-id),
          then Bob goes offline and Alice leaves him one more message.
  after:  Alice logs in with the same password and reads her roster; Bob logs in, gets the message left while
          he was offline and pages through his archive with Alice.
Prints one JSON line; exits 0 only if every step worked.
"""
import asyncio
import ssl
import sys

import slixmpp

from interop_common import report, wait_until

host, port, phase, alice_jid, alice_pw, bob_jid, bob_pw = sys.argv[1:8]
port = int(port)
LINES = ["first line", "second line", "third line"]


class User(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ["xep_0030", "xep_0203", "xep_0313", "xep_0359"]:
            self.register_plugin(plugin)
        self.started = False
        self.failed = None
        self.received = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.started = True

    def on_failed(self, _):
        self.failed = "authentication failed"

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.received.append({"body": msg["body"], "stanza_id": msg["stanza_id"]["id"] or None, "delayed": bool(msg["delay"]["stamp"])})

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started or self.failed, f"{self.boundjid} to start")
        if self.failed:
            raise RuntimeError(self.failed)
        return self


async def before():
    alice, bob = await User(alice_jid, alice_pw).online(), await User(bob_jid, bob_pw).online()
    await alice.update_roster(slixmpp.JID(bob_jid), name="Bob", groups=["Friends"])
    for line in LINES:
        alice.send_message(mto=bob_jid, mbody=line, mtype="chat")
    await wait_until(lambda: len(bob.received) == len(LINES), "Bob to get the chat")
    bob.disconnect()
    await wait_until(lambda: not bob.is_connected(), "Bob to go offline")
    await asyncio.sleep(0.2)
    alice.send_message(mto=bob_jid, mbody="while you were out", mtype="chat")
    # A roster round trip after the message: the server has handled it (stored it offline) before Alice leaves.
    await alice.get_roster()
    alice.disconnect()
    return {"bob_received": bob.received}


async def after():
    alice = await User(alice_jid, alice_pw).online()
    item = alice.client_roster[bob_jid]
    alice.disconnect()
    bob = await User(bob_jid, bob_pw).online()
    await wait_until(lambda: bob.received, "Bob's offline message")
    pages = []
    async for page in bob["xep_0313"].retrieve(with_jid=slixmpp.JID(alice_jid), iterator=True, rsm={"max": 2}):
        pages.append([{"id": r["mam_result"]["id"], "body": r["mam_result"]["forwarded"]["stanza"]["body"]} for r in page["mam"]["results"]])
    bob.disconnect()
    return {"roster_name": item["name"], "roster_groups": item["groups"], "archive_pages": pages, "offline": bob.received}


async def main():
    result = {}
    try:
        result = await (before() if phase == "before" else after())
        ok = True
    except Exception as e:  # report what failed, for the test's message
        result["error"] = f"{type(e).__name__}: {e}"
        ok = False
    await asyncio.sleep(0.1)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
