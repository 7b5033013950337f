"""The change plan's pages: the reviewer's order, Markdown that stays readable, HTML that needs nothing else."""

from __future__ import annotations

import re

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import document, html, markdown

from change_plan_cases import META, lb_plan, obs, record_of, result


def plan_doc(**meta) -> dict:
    return document.build("plan", lb_plan(), dict(META, **meta))


def headings(text: str) -> list[str]:
    return re.findall(r"^## (.*)$", text, re.M)


def test_markdown_follows_the_reviewers_order() -> None:
    text = markdown.render(plan_doc())
    assert headings(text) == ["1. Active Directory: what would change", "2. Nodes: what would change",
                              "3. Risks the collection knows about these changes", "4. Read and found already right",
                              "5. Warnings", "The roles' change record, per node", "Inputs"]
    assert text.startswith("# Change plan: lb_farm\n")
    assert "### SERVER1, SERVER2 (2 nodes, identical changes)" in text
    assert "- Pool DefaultAppPool identity: ApplicationPoolIdentity \u2192 CAMTEST\\cam-svc" in text
    assert "- **Short outage on each node**: the application pool restarts" in text
    assert "  *on SERVER1, SERVER2 - because of: Pool DefaultAppPool: restart (now Started)*" in text
    assert "Made without --diff" not in text and "The run stopped" not in text


def test_markdown_says_when_the_plan_has_no_before_values_or_the_run_stopped() -> None:
    trap = obs("SERVER1", "Directory | Check that the virtual name is no computer's own name", "ansible.builtin.assert",
               result("hostname_trap"), status="failed", delegated=True)
    doc = document.build("plan", lb_plan()[:1] + [trap], dict(META, mode={"check": True, "diff": False}))
    text = markdown.render(doc)
    assert "> **Note:** Made without --diff" in text
    assert "> **Attention:** The run stopped: Directory | Check that the virtual name is no computer's own name on " \
           "SERVER1 - The hostname trap - server1.camtest.local" in text
    assert "## 6. Stopped" in text


def test_markdown_escapes_only_what_markdown_would_eat() -> None:
    assert markdown.escape("CAMTEST\\cam-svc lb_farm url = * HTTP/<name>") == \
        "CAMTEST\\cam-svc lb_farm url = \\* HTTP/\\<name>"
    assert markdown.escape("1. first") == "1\\. first" and markdown.escape("a | b", table=True) == "a \\| b"


def test_a_record_shows_its_link_and_flags_differences_first() -> None:
    plan = plan_doc()
    record = record_of(lb_plan(server2="web_auth_again"))
    record["link"] = document.link(plan, record, "lb_farm.plan.json", "ab" * 32)
    text = markdown.render(record)
    assert text.startswith("# Change record: lb_farm\n")
    assert headings(text)[0] == "Plan and record"
    assert "- Did what the plan said: NO" in text and "- Same inputs as the plan: yes" in text
    assert "> **Attention:** 1 difference between the plan and the real run, flagged below." in text
    assert "| SERVER2 | Node \\| Windows authentication on the site, anonymous off | the plan said this would change" \
        in text
    assert "1. Active Directory: what was changed" in headings(text)
    ok = record_of(lb_plan())
    ok["link"] = document.link(plan, ok, "lb_farm.plan.json", "ab" * 32)
    assert "> **OK:** The real run did what the plan said." in markdown.render(ok)


def test_html_is_one_self_contained_page() -> None:
    page = html.render(plan_doc(note="CHG0042 <Saturday> & Sunday"))
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "@media print" in page
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|\burl\(|@import|https?://", page, re.I)
    assert "CHG0042 &lt;Saturday&gt; &amp; Sunday" in page
    assert '<span class="host">SERVER1</span><span class="host">SERVER2</span>' in page
    assert ('<span class="label">Pool DefaultAppPool identity</span>: <span class="before">ApplicationPoolIdentity'
            '</span><span class="arrow">\u2192</span><span class="after">CAMTEST\\cam-svc</span>') in page
    for section in ("directory", "nodes", "risks", "right"):
        assert '<section class="%s">' % section in page
    assert page.count("<section") == page.count("</section>") and page.count("<div") == page.count("</div>")
