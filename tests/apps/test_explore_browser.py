"""The explorer's page in a real browser (headless Chromium driven by Selenium): for each app, an
input typed or chosen, the output waited for, and what is shown checked; bad input shown as a
message. One screenshot per app is saved under the test's temporary folder, and also in
$EXPLORE_SCREENSHOTS when it names a folder (the README's pictures)."""

import os
import shutil
from pathlib import Path

import pytest

from apps.explore.server import create_app
from tests.apps.explore_server import running_server, shared_models

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_SECONDS = 180  # a model's first request loads it; the machine may be busy

pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") or os.path.exists(CHROMIUM)) or not os.path.exists(CHROMEDRIVER),
    reason="the browser tests need Debian's chromium and chromium-driver (make browser installs them)",
)


@pytest.fixture(scope="module")
def base_url():
    with running_server(create_app(shared_models())) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1100", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, base_url):
    """Opens the page at an app's tab: page(app) -> its section element."""
    from selenium.webdriver.common.by import By

    def open_app(app):
        browser.get(f"{base_url}/")
        browser.find_element(By.CSS_SELECTOR, f"#tabs button[data-app={app}]").click()
        wait_for(browser, lambda d: d.find_element(By.ID, app).is_displayed(), 10)
        return browser.find_element(By.ID, app)

    return open_app


def wait_for(browser, condition, seconds=WAIT_SECONDS):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.2).until(condition)


def submit_and_wait(browser, section, button="button[type=submit]"):
    """Clicks the form's button; waits until the section shows an answer (or an error)."""
    from selenium.webdriver.common.by import By

    browser.execute_script("arguments[0].classList.remove('done')", section)
    button = section.find_element(By.CSS_SELECTOR, button)
    # A field the browser finds invalid (a value off its `step`) would stop the form without a word.
    assert browser.execute_script("return arguments[0].form.checkValidity()", button)
    button.click()
    wait_for(browser, lambda d: "done" in section.get_attribute("class") or error_shown(section))
    assert not error_shown(section), error_shown(section)


def error_shown(section):
    from selenium.webdriver.common.by import By

    errors = [e.text for e in section.find_elements(By.CSS_SELECTOR, ".error") if e.is_displayed()]
    return errors[0] if errors else ""


def fill(section, name, value):
    from selenium.webdriver.common.by import By

    field = section.find_element(By.NAME, name)
    field.clear()
    field.send_keys(str(value))


def screenshot(browser, tmp_path, app):
    """One picture per app: under the test's folder, and in $EXPLORE_SCREENSHOTS if set."""
    path = tmp_path / f"explore-{app}.png"
    assert browser.save_screenshot(str(path))
    folder = os.environ.get("EXPLORE_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(path, os.path.join(folder, path.name))
    assert path.stat().st_size > 1000


def loaded_image(browser, element):
    return browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", element)


def test_translate_shows_the_french_and_a_heat_map_with_a_cell_per_word_pair(browser, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    section = page("translate")
    fill(section, "text", "The cat sleeps on the mat.")
    submit_and_wait(browser, section)
    french = section.find_element(By.CSS_SELECTOR, ".translation").text
    assert "chat" in french.lower() and french.endswith(".")
    rows = len(section.find_elements(By.CSS_SELECTOR, "table.heatmap th.row"))
    columns = len(section.find_elements(By.CSS_SELECTOR, "table.heatmap th.column"))
    assert columns == 7  # The cat sleeps on the mat .
    assert len(section.find_elements(By.CSS_SELECTOR, "table.heatmap td.cell")) == rows * columns
    screenshot(browser, tmp_path, "translate")
    # The Transformer's encoder self-attention: English against English.
    Select(section.find_element(By.CSS_SELECTOR, "select.kind")).select_by_value("encoder")
    Select(section.find_element(By.CSS_SELECTOR, "select.head")).select_by_value("1")
    assert len(section.find_elements(By.CSS_SELECTOR, "table.heatmap td.cell")) == columns * columns


def test_caption_shows_the_caption_and_each_words_attention_over_the_photo(browser, page, tmp_path):
    import matplotlib
    from selenium.webdriver.common.by import By

    # A real photograph, public domain (US Navy, 1984), that ships with matplotlib: the default model learnt photos.
    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    section = page("caption")
    browser.execute_script("arguments[0].classList.remove('done')", section)
    section.find_element(By.NAME, "image").send_keys(str(photo))  # choosing a file captions it
    wait_for(browser, lambda d: "done" in section.get_attribute("class") or error_shown(section))
    assert not error_shown(section)
    caption = section.find_element(By.CSS_SELECTOR, ".caption").text
    words = section.find_elements(By.CSS_SELECTOR, "button.word")
    assert len(caption.split()) >= 2 and len(words) >= 2
    from apps.caption.encoder import ENCODERS

    rows, columns = ENCODERS[shared_models().get("caption").config()["arguments"]["encoder"]].grid
    assert len(section.find_elements(By.CSS_SELECTOR, "table.overlay td.cell")) == rows * columns  # one per location
    assert loaded_image(browser, section.find_element(By.CSS_SELECTOR, "img.photo-image")) > 0
    words[1].click()
    assert "chosen" in words[1].get_attribute("class")
    screenshot(browser, tmp_path, "caption")


def test_sentiment_shows_the_label_and_shades_every_word(browser, page, tmp_path):
    from selenium.webdriver.common.by import By

    section = page("sentiment")
    fill(section, "text", "A tedious, boring and predictable film.")
    submit_and_wait(browser, section)
    assert section.find_element(By.CSS_SELECTOR, ".label").text == "negative"
    shaded = section.find_elements(By.CSS_SELECTOR, ".weighted .word")
    assert [word.text for word in shaded] == ["a", "tedious", ",", "boring", "and", "predictable", "film", "."]
    screenshot(browser, tmp_path, "sentiment")


def test_generate_streams_characters_coloured_by_surprisal_and_scores_a_text(browser, page, tmp_path):
    from selenium.webdriver.common.by import By

    section = page("generate")
    fill(section, "length", 60)
    fill(section, "seed", 7)
    submit_and_wait(browser, section, "form.sample button[type=submit]")
    characters = section.find_elements(By.CSS_SELECTOR, ".output span.char")
    assert len(characters) == 60
    assert characters[0].get_attribute("style").startswith("background")
    assert "nats per character" in section.find_element(By.CSS_SELECTOR, ".summary").text
    section.find_element(By.CSS_SELECTOR, "form.score button").click()
    wait_for(browser, lambda d: section.find_elements(By.CSS_SELECTOR, ".score-output span.char"))
    scored = section.find_elements(By.CSS_SELECTOR, ".score-output span.char")
    assert len(scored) == len("To be, or not to be, that is the question.")
    screenshot(browser, tmp_path, "generate")


def test_music_shows_the_piano_roll_and_a_player_or_a_note(browser, page, tmp_path):
    from selenium.webdriver.common.by import By

    section = page("music")
    fill(section, "bars", 4)
    fill(section, "seed", 3)
    submit_and_wait(browser, section)
    assert loaded_image(browser, section.find_element(By.CSS_SELECTOR, "img.roll")) > 0
    if shutil.which("fluidsynth"):
        audio = section.find_element(By.CSS_SELECTOR, "audio")
        wait_for(browser, lambda d: d.execute_script("return arguments[0].readyState", audio) >= 1, 30)
    else:
        assert "fluidsynth" in section.find_element(By.CSS_SELECTOR, ".audio-note").text
    screenshot(browser, tmp_path, "music")


def test_dynamics_shows_the_forecast_and_the_valid_prediction_time(browser, page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    section = page("dynamics")
    fill(section, "steps", 600)
    submit_and_wait(browser, section)
    assert loaded_image(browser, section.find_element(By.CSS_SELECTOR, "img.plot")) > 0
    assert "Lyapunov times" in section.find_element(By.CSS_SELECTOR, ".output").text
    screenshot(browser, tmp_path, "dynamics")
    Select(section.find_element(By.NAME, "model")).select_by_value("henon-lstm")  # another system
    fill(section, "steps", 60)
    submit_and_wait(browser, section)
    assert "Henon map, 60 steps" in section.find_element(By.CSS_SELECTOR, ".output").text


def test_bad_input_is_a_message_on_the_page_and_the_next_input_works(browser, page, tmp_path):
    from selenium.webdriver.common.by import By

    section = page("sentiment")
    fill(section, "text", " ")
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda d: error_shown(section))
    assert error_shown(section) == "text: nothing to read: type some text"
    # A paste of 20,000 words (set by script: typing it key by key would take minutes).
    browser.execute_script("arguments[0].value = 'word '.repeat(20000)", section.find_element(By.NAME, "text"))
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda d: "too long" in error_shown(section))
    fill(section, "text", "A lovely film.")
    submit_and_wait(browser, section)
    assert section.find_element(By.CSS_SELECTOR, ".label").text == "positive"

    section = page("caption")
    for name, data, message in (("notes.txt", b"not a photo at all", "not an image"),
                                ("huge.jpg", b"\xff" * (40 * 2**20), "at most 10 MB")):
        path = tmp_path / name
        path.write_bytes(data)
        section.find_element(By.NAME, "image").send_keys(str(path))
        wait_for(browser, lambda d, message=message: message in error_shown(section))
        assert "Traceback" not in browser.page_source
    section.find_element(By.CSS_SELECTOR, "button.example").click()
    wait_for(browser, lambda d: "done" in section.get_attribute("class"))
    assert not error_shown(section) and section.find_element(By.CSS_SELECTOR, ".caption").text
