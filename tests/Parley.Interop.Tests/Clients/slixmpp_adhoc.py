"""Service administration (XEP-0133) with python3-slixmpp's ad-hoc command plugin (xep_0050) against Parley.

The admin lists the commands, adds a user through the add-user form, counts the online users, sets the message of
the day and sends an announcement; the new user logs in with the password the admin set and gets the message of
the day; an ordinary user sees no commands and is forbidden to execute one. Then the admin runs every other command:
lists online and registered users, reads the new user's last login and a roster, edits (the form shows the current
text) and deletes the message of the day, changes the new user's password (who signs in with it), disables the
account (its session ends), re-enables it and deletes it.

Usage: slixmpp_adhoc.py HOST PORT DOMAIN ADMIN_JID ADMIN_PW USER_JID USER_PW NEW_JID NEW_PW
Prints one JSON line of what each step observed; exits 0 only if every step passed.
"""
import asyncio
import ssl
import sys

import slixmpp

from interop_common import wait_until, report

host, port, domain, admin_jid, admin_pw, user_jid, user_pw, new_jid, new_pw = sys.argv[1:10]
port = int(port)
ADMIN = "http://jabber.org/protocol/admin#"
MOTD = "Authorized use only. <b>Be kind</b> & \"careful\"."


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        for plugin in ("xep_0004", "xep_0030", "xep_0050"):
            self.register_plugin(plugin)
        self.started = False
        self.ended = False
        self.failed_auth = False
        self.headlines = []
        self.forms = []  # the values of each form a command sent, before the client filled it in
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", lambda _: setattr(self, "ended", True))
        self.add_event_handler("failed_auth", lambda _: setattr(self, "failed_auth", True))

    async def on_start(self, _):
        self.send_presence()
        self.started = True

    def on_message(self, msg):
        if msg["type"] == "headline":
            self.headlines.append((str(msg["from"]), msg["subject"], msg["body"]))

    async def online(self):
        self.connect((host, port), force_starttls=True)
        await wait_until(lambda: self.started, f"{self.boundjid} to start")
        return self

    async def command_nodes(self):
        iq = await self["xep_0050"].get_commands(jid=domain)
        return [node for (_, node, _) in iq["disco_items"]["items"]]

    async def run(self, name, values=None):
        """Runs a command as a client's user would: execute, fill in the form it returns, complete.
        Returns (status, note text, result form values) or ('error', condition, None)."""
        done = asyncio.get_running_loop().create_future()

        def finished(iq, session):
            command = iq["command"]
            form = command["form"]
            notes = command["notes"]
            done.set_result((command["status"], notes[0][1] if notes else "", form.get_values() if form["type"] else None))

        def failed(iq, session):
            done.set_result(("error", iq["error"]["condition"], None))

        def filled(iq, session):
            command = iq["command"]
            if command["status"] == "completed":
                finished(iq, session)
                return
            form = command["form"]
            self.forms.append(form.get_values())
            form["type"] = "submit"
            for var, value in (values or {}).items():
                form.field[var]["value"] = value
            session["payload"] = form
            session["next"] = finished
            self["xep_0050"].complete_command(session)

        self["xep_0050"].start_command(domain, ADMIN + name, {"next": filled, "error": failed})
        return await asyncio.wait_for(done, 20)


async def main():
    result = {}
    step = "start"
    clients = []
    try:
        admin = await Client(admin_jid, admin_pw).online()
        user = await Client(user_jid, user_pw).online()
        clients += [admin, user]

        step = "ordinary user"
        result["user_commands"] = await user.command_nodes()
        result["user_add_user"] = list(await user.run("add-user"))

        step = "admin lists the commands"
        result["admin_commands"] = [node.replace(ADMIN, "") for node in await admin.command_nodes()]

        step = "add-user"
        result["add_user"] = list(await admin.run("add-user", {"accountjid": new_jid, "password": new_pw, "password-verify": new_pw}))

        step = "online users"
        result["online"] = (await admin.run("get-online-users-num"))[2]["onlineusersnum"]

        step = "set-motd"
        result["set_motd"] = list(await admin.run("set-motd", {"body": MOTD}))

        step = "the new user logs in and gets the message of the day"
        newcomer = await Client(new_jid, new_pw).online()
        clients.append(newcomer)
        await wait_until(lambda: newcomer.headlines, "the message of the day")
        result["motd"] = newcomer.headlines[0]

        step = "announce"
        result["announce"] = list(await admin.run("announce", {"subject": "Maintenance", "body": "Back at 22:00."}))
        await wait_until(lambda: user.headlines, "the announcement")
        result["announcement"] = user.headlines[0]

        step = "online and registered users"
        result["online_list"] = (await admin.run("get-online-users-list"))[2]["onlineuserjids"]
        result["registered_num"] = (await admin.run("get-registered-users-num"))[2]["registeredusersnum"]
        result["registered_list"] = (await admin.run("get-registered-users-list"))[2]["registereduserjids"]

        step = "last login and roster"
        result["lastlogin"] = (await admin.run("get-user-lastlogin", {"accountjid": new_jid}))[2]["lastlogin"]
        roster = await admin.run("get-user-roster", {"accountjid": user_jid})
        result["roster"] = [roster[0], roster[2]["accountjid"]]

        step = "edit-motd and delete-motd"
        result["edit_motd"] = list(await admin.run("edit-motd", {"body": "Edited."}))[:2]
        result["edit_motd_prefilled"] = admin.forms[-1]["body"]
        result["delete_motd"] = list(await admin.run("delete-motd"))[:2]

        step = "change-user-password"
        result["change_password"] = list(await admin.run("change-user-password", {"accountjid": new_jid, "password": new_pw + "-changed"}))[:2]
        changed = await Client(new_jid, new_pw + "-changed").online()
        clients.append(changed)
        result["signed_in_with_new_password"] = changed.started

        step = "disable-user"
        result["disable"] = list(await admin.run("disable-user", {"accountjids": [new_jid]}))[:2]
        await wait_until(lambda: changed.ended, "the disabled account's session to end")
        result["disabled_session_ended"] = changed.ended

        step = "reenable-user"
        result["reenable"] = list(await admin.run("reenable-user", {"accountjids": [new_jid]}))[:2]
        back = await Client(new_jid, new_pw + "-changed").online()
        clients.append(back)
        result["signed_in_after_reenable"] = back.started

        step = "delete-user"
        result["delete"] = list(await admin.run("delete-user", {"accountjids": [new_jid]}))[:2]
        result["registered_after_delete"] = (await admin.run("get-registered-users-num"))[2]["registeredusersnum"]

        ok = (result["user_commands"] == [] and result["user_add_user"][:2] == ["error", "forbidden"]
              and len(result["admin_commands"]) == 15 and result["add_user"][0] == "completed"
              and result["motd"][2] == MOTD and result["announcement"][2] == "Back at 22:00.")
        report(result, ok)
    except Exception as e:  # the step and what was seen so far say where it stopped
        result["failed_step"] = step
        result["error"] = repr(e)
        report(result, False)
    finally:
        for client in clients:
            client.disconnect()


asyncio.run(main())
