"""The farm audit's directory view read from the lab's Samba AD DC, checked with Samba's own tools.

When the domain began to make AES keys (the creation of its Read-only Domain Controllers group, RID 521) and when
each pool identity's password was last set: an identity whose password predates that has RC4 keys only
(``identity_without_aes_keys``). The lab's accounts were all created after the domain, so the rule stays silent.
And for a gMSA identity, whether each node's computer token may retrieve its password (``gmsa_retrieval_denied``).
"""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.directory import read_directory
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.dns import canonical_names, cname_rules
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import farm_spec
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.gmsa import gmsa_rules
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.identity import identity_rules

from harness.directory import admin_connection, ldb_values
from harness.gmsa import throwaway_gmsa


def test_the_aes_epoch_and_the_identitys_password_age_come_from_the_dc(lab) -> None:
    del lab
    farm = farm_spec({"name": "sso", "names": ["sso.camtest.local"], "identity": "CAMTEST\\cam-svc"})
    with connect(ConnectionOptions(**admin_connection())) as conn:
        domain_sid = conn.domain_sid()
        view = read_directory(conn, farm, [])
    rodc = ldb_values("(objectSid=%s-521)" % domain_sid, "whenCreated")
    assert rodc and view["aes_keys_since"] == rodc[0], (view["aes_keys_since"], rodc)
    account = view["accounts"]["cam-svc"]
    assert account["pwd_last_set"] == int(ldb_values("(sAMAccountName=cam-svc)", "pwdLastSet")[0])
    assert not [f for f in identity_rules(view) if f["id"] == "identity_without_aes_keys"]
    # The same view, with the password set before the domain made AES keys, is the finding.
    view["accounts"]["cam-svc"] = dict(account, pwd_last_set=130000000000000000)     # set on 2012-12-14
    view["aes_keys_since"] = "20130101000000.0Z"
    assert [f["severity"] for f in identity_rules(view) if f["id"] == "identity_without_aes_keys"] == ["error"]


def test_a_gmsa_pool_on_a_node_that_may_not_retrieve_its_password(lab) -> None:
    """The directory view's decision for each node's real computer token against a real msDS-GroupMSAMembership
    (only SERVER1$ allowed): the audit names SERVER2, not SERVER1."""
    del lab
    with throwaway_gmsa() as (sam, _dn, _group, _group_dn):
        identity = "CAMTEST\\%s" % sam
        farm = farm_spec({"name": "sso", "names": ["sso.camtest.local"], "identity": identity})
        nodes = [{"host": name, "computer": name, "role": "node", "batch_logon": None,
                  "pools": {"farm-pool": {"identity_type": "SpecificUser", "username": identity}},
                  "applications": [{"site": "Default Web Site", "path": "/", "location": "Default Web Site",
                                    "pool": "farm-pool", "bindings": [], "anonymous": {"enabled": False},
                                    "windows": {"enabled": True, "providers": ["Negotiate"], "use_kernel_mode": True,
                                                "use_app_pool_credentials": True}}]}
                 for name in ("SERVER1", "SERVER2")]
        with connect(ConnectionOptions(**admin_connection())) as conn:
            view = read_directory(conn, farm, nodes)
        retrieval = view["accounts"][sam.lower()]["retrieval"]
        assert retrieval["SERVER1"]["allowed"] and not retrieval["SERVER2"]["allowed"], retrieval
        denied = [(f["node"], f["severity"]) for f in gmsa_rules(farm, nodes, view)]
        assert denied == [("SERVER2", "error")]


def test_the_lab_farm_names_resolve_to_themselves_and_are_no_alias(lab) -> None:
    """The controller's resolver (the lab's hosts block): the short name's canonical name is the FQDN, one of the
    farm's own names, so neither is an alias; a CNAME needs a DNS server the lab does not put in front of it."""
    del lab
    farm = farm_spec({"name": "sso", "names": ["sso.camtest.local", "sso"], "identity": "CAMTEST\\cam-svc"})
    farm["canonical_names"] = canonical_names(farm["names"])
    assert farm["canonical_names"] == {"sso.camtest.local": "sso.camtest.local", "sso": "sso.camtest.local"}
    with connect(ConnectionOptions(**admin_connection())) as conn:
        view = read_directory(conn, farm, [])
    assert cname_rules(farm, view) == []
