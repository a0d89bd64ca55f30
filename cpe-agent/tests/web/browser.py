"""Drives the phone's web-based management with a real browser (headless chromium through
chromedriver and Selenium), as cpe-agent/tests/web_browser.rs asks:

    browser.py BASE_URL PASSWORD SCREENSHOT_DIR CHROMIUM CHROMEDRIVER

Prints one JSON object with what it saw; any unexpected page fails with a message.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, password, shots, chromium, chromedriver = sys.argv[1:6]
seen = {}

opts = webdriver.ChromeOptions()
opts.binary_location = chromium
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
          "--window-size=1000,900", "--no-first-run", "--disable-extensions"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
driver.set_page_load_timeout(30)


def shot(name):
    # The whole page: make the window as tall as the document first.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, min(max(height + 120, 600), 4000))
    driver.save_screenshot(f"{shots}/web-{name}.png")
    driver.set_window_size(width, 900)


def h1():
    return driver.find_element(By.TAG_NAME, "h1").text


def wait_for(element_id):
    """The element once the page that has it has loaded (a click navigates)."""
    return WebDriverWait(driver, 20, ignored_exceptions=[
        NoSuchElementException, StaleElementReferenceException]).until(
        lambda d: d.find_element(By.ID, element_id))


def wait_h1(text):
    try:
        WebDriverWait(driver, 20, ignored_exceptions=[
            NoSuchElementException, StaleElementReferenceException]).until(
            lambda d: d.find_element(By.TAG_NAME, "h1").text == text)
    except Exception:
        must(False, f"no page titled {text!r}")


def login(user, pw):
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(pw)
    driver.find_element(By.ID, "login").click()


def must(cond, what):
    if not cond:
        raise SystemExit(f"{what}; page {driver.current_url}:\n{driver.page_source[:3000]}")


try:
    # Without a session cookie, a page is refused: the browser lands on the login page.
    driver.get(base + "/config")
    must(h1() == "Log in" and driver.current_url.endswith("/login"), "no login page without a session")
    seen["without_cookie"] = driver.current_url
    shot("login")

    # A wrong password is refused.
    login("admin", "not-the-password")
    err = wait_for("login-error").text
    must("Wrong user name or password" in err, "wrong password not refused")
    seen["wrong_password"] = err

    login("admin", password)
    wait_h1("Status")
    seen["status"] = driver.find_element(By.ID, "status").text
    shot("status")

    # A refused value: the phone's range for reg-ttl is 60..7200.
    driver.get(base + "/config")
    field = driver.find_element(By.ID, "value-reg-ttl")
    field.clear()
    field.send_keys("10")
    driver.find_element(By.ID, "save-reg-ttl").click()
    err = wait_for("error-reg-ttl").text
    must("9007" in err, "refused value without its message")
    seen["refused"] = err
    shot("config-error")

    field = driver.find_element(By.ID, "value-reg-ttl")
    field.clear()
    field.send_keys("1200")
    driver.find_element(By.ID, "save-reg-ttl").click()
    must("Saved reg-ttl" in wait_for("saved").text, "reg-ttl not saved")
    must(driver.find_element(By.ID, "value-reg-ttl").get_attribute("value") == "1200", "value not shown")
    seen["saved"] = driver.find_element(By.ID, "value-reg-ttl").get_attribute("value")
    driver.execute_script("window.scrollTo(0, 0)")
    shot("config")

    # Send Inform now, with its confirmation step.
    driver.get(base + "/actions")
    driver.find_element(By.ID, "action-inform").click()
    wait_h1("Confirm")
    shot("confirm")
    driver.find_element(By.ID, "confirm-inform").click()
    seen["inform"] = wait_for("action-result").text
    shot("actions")

    # The session appears on the Sessions page, carrying 4 VALUE CHANGE.
    row = None
    deadline = time.time() + 30
    while time.time() < deadline and row is None:
        driver.get(base + "/sessions")
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#sessions tr")
                if "4 VALUE CHANGE" in r.text]
        row = rows[0] if rows else None
        if row is None:
            time.sleep(0.3)
    must(row is not None, "no session with 4 VALUE CHANGE on the Sessions page")
    seen["session_row"] = row.text
    shot("sessions")
    row.find_element(By.TAG_NAME, "a").click()
    wait_h1("Session")
    svg = driver.find_element(By.TAG_NAME, "svg")
    seen["timeline"] = svg.get_attribute("aria-label")
    must("Inform" in driver.page_source, "timeline without the Inform")
    shot("session")

    # The provisioning status page.
    driver.get(base + "/provisioning")
    wait_h1("Provisioning")
    must("Access table" in driver.page_source, "provisioning page without its access table")
    shot("provisioning")

    # A phone-sized screen.
    driver.set_window_size(390, 844)
    driver.get(base + "/")
    driver.save_screenshot(f"{shots}/web-status-narrow.png")
    seen["narrow_scroll_width"] = driver.execute_script("return document.documentElement.scrollWidth")
finally:
    driver.quit()

print(json.dumps(seen))
