"""Every state change a person can make, one function each: the CLI, the web pages and the JSON API call these
and nothing else to change state.

- campaigns.py: close (or ask a second staff member to), pause, resume, reopen
- emergency.py: the emergency stop and lifting it
- posts.py: queue, edit, cancel, resolve (settle an unknown or failed delivery)
- approvals.py: approve or reject (four eyes)
- accounts.py: enable an account after its credentials were fixed
- supporters.py: connect, choose campaigns, undo boosts, disconnect
- people.py: users, passwords, API tokens, signing in
- files.py: the campaign files' definitions and their `status`, acted on by the "campaign file" actor

Each takes the Context it needs and the Actor (bot/actions/base.py), checks the actor's role, runs in one
transaction, writes one audit record, and refuses with an ActionError (a code, a field, parameters) that each
surface renders in its own words (bot/actions/errors.py, messages.py).
"""
