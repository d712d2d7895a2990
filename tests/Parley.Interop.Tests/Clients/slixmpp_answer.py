"""A slixmpp client on TCP that answers the first chat message it gets, then stays online a little.

Usage: slixmpp_answer.py HOST PORT JID PASSWORD REPLY
Prints "online" once signed in, then one JSON line with the message it answered; exits 0 only if one came.
"""
import asyncio
import json
import ssl
import sys

import slixmpp

host, port, jid, password, reply = sys.argv[1:6]
TIMEOUT = 60


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.received = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        print("online", flush=True)

    def on_message(self, msg):
        if msg["type"] == "chat" and msg["body"] and not self.received.done():
            self.send_message(mto=msg["from"], mbody=reply, mtype="chat")
            self.received.set_result({"from": str(msg["from"]), "body": msg["body"]})


async def main():
    client = Client()
    client.connect((host, int(port)), force_starttls=True)
    try:
        got = await asyncio.wait_for(client.received, TIMEOUT)
        await asyncio.sleep(1)
        print(json.dumps(got), flush=True)
        return 0
    except asyncio.TimeoutError:
        print(json.dumps({"error": "no message"}), flush=True)
        return 1
    finally:
        client.disconnect()


sys.exit(asyncio.get_event_loop().run_until_complete(main()))
