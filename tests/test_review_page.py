"""The review page is one offline file; in a real browser a reviewer filters, opens a pair's
evidence, records a verdict and exports it as a stances CSV that prep reads back as labels.

The browser is Debian's Chromium driven by selenium through Debian's chromedriver
(`scripts/setup.sh test` installs both); without them the browser test is skipped."""

from __future__ import annotations

import shutil
import time

import pytest

from core.cli import UserError
from core.jsonl import read_jsonl, write_jsonl
from core.runs import prediction_row
from eval import evidence, review
from prep.validate import load_tables

STATEMENT = 'Fares should be "free", for everyone'  # a comma and quotes: the CSV must quote it
CHROMEDRIVER = shutil.which("chromedriver")


def message(conversation_id, number, author, text):
    return {"conversation_id": conversation_id, "message_id": f"m{number:02d}", "author": author,
            "timestamp": f"2024-05-01T10:{number:02d}:00+08:00", "text": text, "reply_to": None}


@pytest.fixture
def run(tmp_path):
    """A snippet run over one long conversation (40 messages) with evidence, and prep-style tables."""
    messages = [message("c1", n, ("Ann", "Ben", "Cai", "Dee")[n % 4], f"message {n} about fares") for n in range(40)]
    messages[5]["text"] = "Free fares for all, I said it before </script><b>bold</b>"
    stances = [{"conversation_id": "c1", "statement_id": "s1", "statement": STATEMENT, "contributor": who, "label": gold}
               for who, gold in (("Ann", "yes"), ("Ben", "yes"), ("Cai", "no"), ("Dee", "no"))]
    write_jsonl(tmp_path / "tables" / "messages.jsonl", messages)
    write_jsonl(tmp_path / "tables" / "stances.jsonl", stances)
    answers = {"Ann": 0.1, "Ben": 0.7, "Cai": 0.45, "Dee": 0.05}  # Ann: a disagreement; Cai: the least certain
    predictions = []
    for m in messages:
        stance = next(s for s in stances if s["contributor"] == m["author"])
        p_yes = answers[m["author"]] * (1.2 if m["message_id"] == "m05" else 0.5)
        meta = {**{k: stance[k] for k in ("conversation_id", "statement_id", "contributor", "label")},
                "context_id": f"c1/snippet/{m['message_id']}", "message_id": m["message_id"]}
        predictions.append(prediction_row(meta, "loglik", "yes" if p_yes >= 0.5 else "no", p_yes))
    run_dir = tmp_path / "run"
    write_jsonl(run_dir / "predictions.jsonl", predictions)
    write_jsonl(run_dir / "evidence.jsonl", evidence.build(predictions, tmp_path / "tables"))
    return run_dir, tmp_path / "tables"


def test_the_page_is_one_offline_file_whose_text_cannot_break_out_of_its_script(run, tmp_path):
    run_dir, tables = run
    html = review.main([str(run_dir), "--tables", str(tables), "--out", str(tmp_path / "review.html")]).read_text()
    assert "http://" not in html and "https://" not in html and " src=" not in html
    assert html.count("</script>") == 1 and "<\\/script><b>bold<\\/b>" in html
    data = review.page_data(run_dir, tables)
    assert [p["contributor"] for p in data["pairs"]] == ["Ann", "Ben", "Cai", "Dee"]
    assert data["pairs"][1]["evidence"][0]["message_id"] == "m05"  # Ben's highest snippet


def test_evidence_for_another_answer_is_refused(run):
    run_dir, tables = run
    rows = read_jsonl(run_dir / "evidence.jsonl")
    rows[0]["answer"] = "yes" if rows[0]["answer"] == "no" else "no"
    write_jsonl(run_dir / "evidence.jsonl", rows)
    with pytest.raises(UserError, match="rebuild the evidence"):
        review.page_data(run_dir, tables)


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    if not CHROMEDRIVER:
        pytest.skip("no chromedriver (scripts/setup.sh test installs Debian's chromium and chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def rows(driver):
    return driver.find_elements("css selector", "tr.pair")


def test_a_reviewer_filters_records_a_verdict_and_prep_reads_the_export_back(run, tmp_path, browser):
    run_dir, tables = run
    page = review.main([str(run_dir), "--tables", str(tables), "--out", str(tmp_path / "review.html")])
    browser.get(page.as_uri())
    keys = [r.get_attribute("data-key") for r in rows(browser)]
    assert [k.split('"')[-2] for k in keys] == ["Ann", "Cai", "Ben", "Dee"]  # disagreement, then least certain
    assert "disagree" in rows(browser)[0].get_attribute("class")

    browser.find_element("id", "filter").send_keys("ben")
    assert [r.find_element("css selector", "td").text for r in rows(browser)] == ["Ben"]
    rows(browser)[0].click()
    highlighted = {e.get_attribute("data-message"): e for e in browser.find_elements("css selector", ".message.evidence")}
    assert len(highlighted) == review.EVIDENCE_SHOWN
    assert highlighted["m05"].find_element("css selector", ".rank").text.startswith("#1")
    assert "</script><b>bold</b>" in highlighted["m05"].text  # shown as text, never as markup
    shown = len(browser.find_elements("css selector", ".message"))
    assert shown == 10  # Ben's own messages; everyone else's collapsed
    browser.find_elements("css selector", "button.gap")[0].click()
    assert len(browser.find_elements("css selector", ".message")) > shown

    rows(browser)[0].find_element("css selector", "button[data-verdict='no']").click()
    browser.refresh()  # verdicts survive a reload (localStorage)
    browser.find_element("id", "show").send_keys("not yet reviewed")
    assert "Ben" not in [r.find_element("css selector", "td").text for r in rows(browser)]
    assert "1 of 4" in browser.find_element("id", "progress").text

    browser.find_element("id", "export").click()
    deadline = time.time() + 10
    while not list((tmp_path / "downloads").glob("*.csv")) and time.time() < deadline:
        time.sleep(0.1)
    [exported] = list((tmp_path / "downloads").glob("*.csv"))
    corrected = load_tables(tables / "messages.jsonl", exported)
    assert [(s["contributor"], s["statement"], s["label"]) for s in corrected.stances] == [("Ben", STATEMENT, "no")]
