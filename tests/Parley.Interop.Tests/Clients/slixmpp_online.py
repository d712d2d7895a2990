"""A slixmpp client on TCP that stays online until the server ends its session, optionally chatting meanwhile.

Usage: slixmpp_online.py HOST PORT JID PASSWORD [SEND_TO|-] [ROOM/NICK|-] [caps]
Prints "online" once signed in; with SEND_TO, sends it a chat message every 0.2 s; with ROOM/NICK, joins that room
and prints "joined"; with caps, its presence names its software with XEP-0115 (http://slixmpp.com/ver/VERSION), as
most chat clients' do. Prints "ended" and exits 0
when the server closes the stream; exits 1 if that does not happen within the timeout.
"""
import asyncio
import ssl
import sys

import slixmpp

host, port, jid, password = sys.argv[1:5]
send_to = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
room = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] != "-" else None
caps = len(sys.argv) > 7 and sys.argv[7] == "caps"
TIMEOUT = 120


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.ended = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("failed_auth", lambda _: print("failed_auth", flush=True))
        self.register_plugin("xep_0045")
        if caps:
            self.register_plugin("xep_0115")

    async def on_start(self, _):
        if caps:
            # slixmpp computes its verification string only when asked; presence then carries it.
            await self.plugin["xep_0115"].update_caps(broadcast=False)
        self.send_presence()
        print("online", flush=True)
        if room:
            room_jid, nick = room.split("/", 1)
            await self.plugin["xep_0045"].join_muc_wait(room_jid, nick, maxstanzas=0)
            print("joined", flush=True)
        count = 0
        while send_to and not self.ended.done():
            count += 1
            self.send_message(mto=send_to, mbody=f"message {count}", mtype="chat")
            await asyncio.sleep(0.2)

    def on_disconnected(self, _):
        if not self.ended.done():
            self.ended.set_result(True)


async def main():
    client = Client()
    client.connect((host, int(port)), force_starttls=True)
    try:
        await asyncio.wait_for(client.ended, TIMEOUT)
        print("ended", flush=True)
        return 0
    except asyncio.TimeoutError:
        print("still online at the timeout", flush=True)
        return 1


sys.exit(asyncio.get_event_loop().run_until_complete(main()))
