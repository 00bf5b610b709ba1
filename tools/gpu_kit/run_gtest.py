#!/usr/bin/env python3
"""Runs one GoogleTest program test by test, as ctest would, without ctest or the build tree: every test is reported
in a JUnit XML even when the program crashes or hangs. A test that crashes is recorded as failed and the program is
started again on the tests after it; a test that runs longer than --test-timeout is killed and recorded as failed;
once --timeout is spent, the tests not yet run are recorded as failed ("not run").

  run_gtest.py PROGRAM --xml OUT.xml --log OUT.log [--timeout 120] [--test-timeout 60] [--json OUT.json]

Prints one line (passed, failed, skipped) and exits 1 if any test failed, 0 otherwise."""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from xml.sax.saxutils import escape, quoteattr

RESULT = re.compile(r"^\[ +(OK|FAILED|SKIPPED) +\] (\S+) \((\d+) ms\)")
RUN = re.compile(r"^\[ RUN +\] (\S+)")


def list_tests(program):
    listing = subprocess.run([program, "--gtest_list_tests"], capture_output=True, text=True, timeout=60, check=True)
    tests, suite = [], None
    for line in listing.stdout.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            suite = line.split("#")[0].strip()
        else:
            tests.append(suite + line.split("#")[0].strip())
    return tests


class Outcome:
    def __init__(self, status, seconds=0.0, output="", message=""):
        self.status, self.seconds, self.output, self.message = status, seconds, output, message


def run_once(program, tests_left, deadline, test_timeout, log):
    """Runs the program on tests_left (in order) until it ends, crashes or overruns. Returns {test: Outcome}."""
    outcomes = {}
    command = [program, "--gtest_filter=" + ":".join(tests_left), "--gtest_color=no"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               errors="replace")
    state = {"test": None, "started": time.monotonic(), "lines": []}
    lock = threading.Lock()

    def read():
        for line in process.stdout:
            log.write(line)
            with lock:
                run = RUN.match(line)
                result = RESULT.match(line)
                if run:
                    state.update(test=run.group(1), started=time.monotonic(), lines=[])
                elif result and result.group(2) == state["test"]:
                    status = {"OK": "passed", "FAILED": "failed", "SKIPPED": "skipped"}[result.group(1)]
                    outcomes[state["test"]] = Outcome(status, int(result.group(3)) / 1e3, "".join(state["lines"]))
                    state["test"] = None
                elif state["test"] is not None:
                    state["lines"].append(line)

    reader = threading.Thread(target=read)
    reader.start()
    why = None
    while process.poll() is None:
        time.sleep(0.2)
        now = time.monotonic()
        with lock:
            running = state["test"] is not None
            overran = running and now - state["started"] > test_timeout
        if now > deadline or overran:
            why = "time limit of the step" if now > deadline else f"ran longer than {test_timeout:.0f} s"
            process.kill()
            break
    process.wait()
    reader.join()
    with lock:
        if state["test"] is not None:  # crashed or killed inside this test
            message = why or f"the program ended inside this test (exit status {process.returncode})"
            outcomes[state["test"]] = Outcome("failed", time.monotonic() - state["started"], "".join(state["lines"]),
                                              message)
    return outcomes, why == "time limit of the step", process.returncode


def write_junit(path, program, tests, outcomes):
    suites = {}
    for test in tests:
        suites.setdefault(test.split(".")[0], []).append(test)
    counts = {s: sum(1 for t in tests if outcomes[t].status == s) for s in ("failed", "skipped")}
    with open(path, "w", encoding="utf-8") as xml:
        xml.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        xml.write(f'<testsuites name={quoteattr(os.path.basename(program))} tests="{len(tests)}" '
                  f'failures="{counts["failed"]}" skipped="{counts["skipped"]}">\n')
        for suite, members in suites.items():
            failed = sum(1 for t in members if outcomes[t].status == "failed")
            skipped = sum(1 for t in members if outcomes[t].status == "skipped")
            xml.write(f'  <testsuite name={quoteattr(suite)} tests="{len(members)}" failures="{failed}" '
                      f'skipped="{skipped}">\n')
            for test in members:
                o = outcomes[test]
                name = test[len(suite) + 1:]
                xml.write(f'    <testcase classname={quoteattr(suite)} name={quoteattr(name)} time="{o.seconds:.3f}"')
                if o.status == "passed":
                    xml.write("/>\n")
                    continue
                tag = "failure" if o.status == "failed" else "skipped"
                message = o.message or ("failed" if o.status == "failed" else o.output.strip()[:200])
                xml.write(f'>\n      <{tag} message={quoteattr(message)}>{escape(o.output)}</{tag}>\n'
                          f'    </testcase>\n')
            xml.write("  </testsuite>\n")
        xml.write("</testsuites>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program")
    parser.add_argument("--xml", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--json")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole program")
    parser.add_argument("--test-timeout", type=float, default=60.0, help="seconds for one test")
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    tests = list_tests(args.program)
    outcomes = {}
    with open(args.log, "w", encoding="utf-8") as log:
        while True:
            left = [t for t in tests if t not in outcomes]
            if not left:
                break
            found, out_of_time, status = run_once(args.program, left, deadline, args.test_timeout, log)
            outcomes.update(found)
            if not found and not out_of_time:  # it ended before its first test: record that for every test left
                for test in left:
                    outcomes[test] = Outcome("failed", message=f"the program ended before this test (exit status {status})")
            if out_of_time or not found:
                break
    for test in tests:  # a test the time limit kept from running has not passed
        outcomes.setdefault(test, Outcome("failed", message="not run: the step's time limit came first"))
    write_junit(args.xml, args.program, tests, outcomes)

    counts = {s: [t for t in tests if outcomes[t].status == s] for s in ("passed", "failed", "skipped")}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({s: names for s, names in counts.items()} |
                      {"messages": {t: outcomes[t].message or outcomes[t].output.strip()[-2000:]
                                    for t in counts["failed"] + counts["skipped"]}}, out, indent=1)
    print(f"{os.path.basename(args.program)}: {len(counts['passed'])} passed, {len(counts['failed'])} failed, "
          f"{len(counts['skipped'])} skipped")
    for test in counts["failed"]:
        print(f"  FAILED {test}: {outcomes[test].message or 'see the log'}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
