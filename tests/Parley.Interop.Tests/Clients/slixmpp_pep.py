"""Personal eventing (XEP-0163) with python3-slixmpp against Parley: Alice publishes her nickname
(XEP-0172) and avatar (XEP-0084); Bob, a contact whose caps ask for both (+notify), gets the events
and fetches the avatar data by id.

Usage: slixmpp_pep.py HOST PORT ALICE_JID ALICE_PW BOB_JID BOB_PW
Prints one JSON line of what each step observed; exits 0 only if every step passed.
"""
import asyncio
import base64
import hashlib
import ssl
import sys

import slixmpp

from interop_common import wait_until, report

host, port, alice_jid, alice_pw, bob_jid, bob_pw = sys.argv[1:7]
port = int(port)
AVATAR = b"\x89PNG\r\n\x1a\n parley interop avatar"


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0030", "xep_0115", "xep_0060", "xep_0163", "xep_0172", "xep_0084"):
            self.register_plugin(plugin)
        self.roster.auto_authorize = True
        self.roster.auto_subscribe = True
        self.started = False
        self.nicks = []
        self.avatars = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("user_nick_publish", self.on_nick)
        self.add_event_handler("avatar_metadata_publish", self.on_avatar)

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.started = True

    def on_nick(self, msg):
        self.nicks.append((str(msg["from"]), msg["pubsub_event"]["items"]["item"]["nick"]["nick"]))

    def on_avatar(self, msg):
        info = msg["pubsub_event"]["items"]["item"]["avatar_metadata"]["info"]
        self.avatars.append((str(msg["from"]), info["id"], info["type"]))

    def subscription(self, jid):
        return self.client_roster[jid]["subscription"] if jid in self.client_roster else None

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self


async def main():
    result = {}
    step = "start"
    alice = bob = None
    try:
        alice = await Client(alice_jid, alice_pw).online()
        bob = await Client(bob_jid, bob_pw).online()

        step = "subscribe both ways"
        bob.send_presence_subscription(pto=alice_jid)
        await wait_until(lambda: alice.subscription(bob_jid) == "both" and bob.subscription(alice_jid) == "both", "a mutual subscription")

        step = "publish nickname"
        await alice["xep_0172"].publish_nick("Ally")
        await wait_until(lambda: bob.nicks, "Bob to get Alice's nickname")
        result["nick"] = bob.nicks[-1]

        step = "publish avatar"
        avatar_id = hashlib.sha1(AVATAR).hexdigest()
        await alice["xep_0084"].publish_avatar(AVATAR)
        await alice["xep_0084"].publish_avatar_metadata(items=[{"id": avatar_id, "type": "image/png", "bytes": len(AVATAR)}])
        await wait_until(lambda: bob.avatars, "Bob to get Alice's avatar metadata")
        result["avatar"] = bob.avatars[-1]

        step = "fetch avatar data"
        data = await bob["xep_0084"].retrieve_avatar(alice_jid, avatar_id)
        value = data["pubsub"]["items"]["item"]["avatar_data"]["value"]
        result["avatar_data_matches"] = value == AVATAR or value == base64.b64encode(AVATAR)
        ok = True
    except Exception as e:
        result["error"] = f"step '{step}': {type(e).__name__}: {e}"
        ok = False
    finally:
        for client in (alice, bob):
            if client is not None:
                client.disconnect()
        await asyncio.sleep(0)
    report(result, ok)


asyncio.get_event_loop().run_until_complete(main())
