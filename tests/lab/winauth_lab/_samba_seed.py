# Internal to the webfarm.winauth lab. Run with the system Python that ships
# Samba's bindings (python3-samba), never with the project venv:
#   /usr/bin/python3 _samba_seed.py < seed.json
# It writes straight into the provisioned sam.ldb while samba is NOT running,
# which is how `samba-tool` itself works offline, and is much faster than one
# samba-tool process per object.
"""Seed a freshly provisioned Samba AD database from the lab's declarative seed."""

import json
import sys

import ldb
from samba import dsdb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def main():
    spec = json.load(sys.stdin)
    lp = LoadParm()
    lp.load(spec["smb_conf"])
    samdb = SamDB(url=spec["sam_ldb"], session_info=system_session(), lp=lp)
    base_dn = str(samdb.domain_dn())
    dns_domain = spec["realm"].lower()

    # Windows DCs register these themselves (samba_spnupdate does it when the
    # dnsupdate service runs, which the lab disables): LDAP and GC service tickets
    # need them.
    dc_short = spec["dc"]["hostname"].upper()
    dc_fqdn = "%s.%s" % (dc_short, dns_domain)
    netbios = spec["netbios"].upper()
    dc_dn = "CN=%s,OU=Domain Controllers,%s" % (dc_short, base_dn)
    message = ldb.Message(ldb.Dn(samdb, dc_dn))
    message["servicePrincipalName"] = ldb.MessageElement(
        ["ldap/%s" % dc_fqdn, "ldap/%s/%s" % (dc_fqdn, dns_domain), "ldap/%s/%s" % (dc_fqdn, netbios),
         "ldap/%s" % dc_short, "ldap/%s/%s" % (dc_short, netbios), "GC/%s/%s" % (dc_fqdn, dns_domain)],
        ldb.FLAG_MOD_ADD, "servicePrincipalName")
    samdb.modify(message)

    for ou in spec.get("organizational_units", []):
        samdb.create_ou("OU=%s,%s" % (ou, base_dn))

    for user in spec.get("users", []):
        ou = "OU=%s" % user["ou"] if user.get("ou") else None
        samdb.newuser(user["name"], user["password"], userou=ou,
                      description=user.get("description"))
        samdb.setexpiry("(sAMAccountName=%s)" % ldb.binary_encode(user["name"]), 0, no_expiry_req=True)

    for computer in spec.get("computers", []):
        name = computer["name"].upper()
        container = "OU=%s,%s" % (computer["ou"], base_dn) if computer.get("ou") else "CN=Computers,%s" % base_dn
        fqdn = "%s.%s" % (name.lower(), dns_domain)
        samdb.add({
            "dn": "CN=%s,%s" % (name, container),
            "objectClass": "computer",
            "sAMAccountName": name + "$",
            "dNSHostName": fqdn,
            "userAccountControl": str(dsdb.UF_WORKSTATION_TRUST_ACCOUNT),
            # What a domain join (and the WinRM service) registers on Windows.
            "servicePrincipalName": ["%s/%s" % (service, host) for service in spec.get(
                "computer_service_classes", ["HOST", "RestrictedKrbHost"]) for host in (name, fqdn)],
        })
        samdb.setpassword("(sAMAccountName=%s$)" % ldb.binary_encode(name), computer["password"], False)

    for group in spec.get("groups", []):
        samdb.newgroup(group["name"], description=group.get("description"))
        if group.get("members"):
            samdb.add_remove_group_members(group["name"], group["members"], add_members_operation=True)


if __name__ == "__main__":
    main()
