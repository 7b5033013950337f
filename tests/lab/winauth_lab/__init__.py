# Internal to the webfarm.winauth lab: test infrastructure, not part of the collection's API.
"""The webfarm.winauth lab: a real Samba AD DC and (later) WinRM lab nodes on loopback."""
