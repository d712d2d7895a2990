"""A slixmpp client for the cluster scenarios: SCRAM-SHA-256 over STARTTLS to a self-signed node; `ready` holds its
bound JID once it has sent presence and read its roster."""
import asyncio

import slixmpp

from interop_common import accept_self_signed


class SessionClient(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        # slixmpp would try -PLUS with tls-unique, which TLS 1.3 does not have.
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        accept_self_signed(self)
        self.ready = asyncio.get_event_loop().create_future()
        self.stream_errors = []
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("stream_error", self.on_stream_error)

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        if not self.ready.done():
            self.ready.set_result(str(self.boundjid))

    def on_stream_error(self, error):
        self.stream_errors.append(error["condition"])
