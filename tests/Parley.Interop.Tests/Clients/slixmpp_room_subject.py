"""An occupant sets a room's subject with slixmpp's XEP-0045 plugin, as an XMPP user does from a chat client.

Usage: slixmpp_room_subject.py HOST PORT JID PASSWORD ROOM SUBJECT
Joins ROOM, sets SUBJECT and waits until the room sends it back to its occupants (it is stored by then).
Prints one JSON line: {"subject": what the room sent back}.
"""
import asyncio
import sys

import slixmpp

from interop_common import accept_self_signed, run_scenario, wait_until

host, port, jid, password, room, subject = sys.argv[1:7]


async def scenario(result, clients, step):
    client = slixmpp.ClientXMPP(jid, password)
    accept_self_signed(client)
    client.register_plugin("xep_0045")
    started = asyncio.get_event_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    subjects = []
    client.add_event_handler("groupchat_subject", lambda msg: subjects.append(msg["subject"]))
    clients.append(client)
    step[0] = "sign in"
    client.connect((host, int(port)), force_starttls=True)
    await asyncio.wait_for(started, 20)
    step[0] = "join"
    await client.plugin["xep_0045"].join_muc_wait(room, "owner", maxstanzas=0, timeout=20)
    step[0] = "set the subject"
    client.plugin["xep_0045"].set_subject(room, subject)
    await wait_until(lambda: subject in subjects, "the subject sent back by the room")
    result["subject"] = subject


run_scenario(scenario)
