"""The farm audit's directory view read from the lab's Samba AD DC, checked with Samba's own tools.

When the domain began to make AES keys (the creation of its Read-only Domain Controllers group, RID 521) and when
each pool identity's password was last set: an identity whose password predates that has RC4 keys only
(``identity_without_aes_keys``). The lab's accounts were all created after the domain, so the rule stays silent.
"""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.directory import read_directory
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.farm import farm_spec
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.audit.identity import identity_rules

from harness.directory import admin_connection, ldb_values


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
