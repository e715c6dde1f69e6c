#!/usr/bin/env python3
"""CLI against CLI: runs `helm template` and `dsc-helm template` with the same arguments over
every case of the conformance corpus and compares stdout byte for byte and the exit status
(and, when both fail, the `Error:` line on stderr).

  compare.py --corpus ../shared/corpus --helm HELM --dsc-helm target/debug/dsc-helm

Lines that Helm's own renders disagree on (case.json "mask": line numbers per template of the
engine output, e.g. random passwords) are skipped: each `# Source:` section of the output is
located among its template's documents in expected.json, and the masked lines of that document
are skipped in the section. Prints one line per differing case and closes with
"helm-cli: N passed, M failed". Exit status 1 when any case differs, except the cases listed
in --known (differences of the renderer itself, reported as KNOWN).
"""
import argparse, concurrent.futures as cf, json, os, re, subprocess, sys

SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


def documents_with_lines(text):
    """Helm's SplitManifests, with the 1-based line each document starts on."""
    lead = len(text) - len(text.lstrip())
    body = text[lead:]
    docs, start = [], 0
    pieces = []
    for m in SEPARATOR.finditer(body):
        pieces.append((start, body[start:m.start()]))
        start = m.end()
    pieces.append((start, body[start:]))
    for off, piece in pieces:
        if not piece.strip():
            continue
        skip = len(piece) - len(piece.lstrip())
        at = lead + off + skip
        docs.append((text[:at].count("\n") + 1, piece.lstrip()))
    return docs


def sections(out):
    """(source, [lines]) for each `---` + `# Source:` section; text before the first as None."""
    lines = out.split("\n")
    result, current = [], (None, [])
    i = 0
    while i < len(lines):
        if lines[i] == "---" and i + 1 < len(lines) and lines[i + 1].startswith("# Source: "):
            result.append(current)
            current = (lines[i + 1][len("# Source: "):], [])
            i += 2
            continue
        current[1].append(lines[i])
        i += 1
    result.append(current)
    return result


def masked_positions(section_lines, source, expected, mask):
    """Positions (0-based, within the section) to skip: those of the template's document that
    the section holds, found by comparing the unmasked lines."""
    masked = set(mask.get(source, []))
    if not masked or source not in expected:
        return set()
    for start, doc in documents_with_lines(expected[source]):
        doc_lines = doc.rstrip().split("\n")
        skip = {m - start for m in masked if 0 <= m - start < len(doc_lines)}
        if not skip:
            continue
        if len(section_lines) < len(doc_lines):
            continue
        if all(i in skip or doc_lines[i] == section_lines[i] for i in range(len(doc_lines))):
            return skip
    return set()


def compare_output(helm, ours, expected, mask):
    if helm == ours:
        return None
    hs, os_ = sections(helm), sections(ours)
    if len(hs) != len(os_):
        return "%d sections, Helm prints %d" % (len(os_), len(hs))
    for (hsrc, hl), (osrc, ol) in zip(hs, os_):
        if hsrc != osrc:
            return "section order: Helm %r, got %r" % (hsrc, osrc)
        skip = masked_positions(hl, hsrc, expected, mask) if hsrc else set()
        if len(hl) != len(ol):
            return "%s: %d lines, Helm prints %d" % (hsrc, len(ol), len(hl))
        for i, (a, b) in enumerate(zip(hl, ol)):
            if i not in skip and a != b:
                return "%s line %d: Helm %r, got %r" % (hsrc, i + 1, a[:100], b[:100])
    return None


def error_line(stderr):
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("Error:"):
            return line
    return ""


def run(cmd, timeout):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def check(args, chart_dir, case_dir):
    case = json.load(open(os.path.join(case_dir, "case.json")))
    argv = ["template", case["release"], os.path.join(chart_dir, "chart.tgz"),
            "-f", os.path.join(case_dir, "values.yaml"), "-n", case["namespace"]] + args.extra
    helm = run([args.helm] + argv, args.timeout)
    ours = run([args.dsc_helm] + argv, args.timeout)
    if helm is None or ours is None:
        return "timeout (%s)" % ("helm" if helm is None else "dsc-helm")
    if helm.returncode != ours.returncode:
        return "exit %d, Helm exits %d (%s)" % (
            ours.returncode, helm.returncode,
            (error_line(ours.stderr) or error_line(helm.stderr))[:200])
    if helm.returncode != 0 and error_line(helm.stderr) != error_line(ours.stderr):
        return "error differs: Helm %r, got %r" % (error_line(helm.stderr)[:200], error_line(ours.stderr)[:200])
    expected_path = os.path.join(case_dir, "expected.json")
    expected = json.load(open(expected_path)) if os.path.exists(expected_path) else {}
    return compare_output(helm.stdout.decode(errors="replace"), ours.stdout.decode(errors="replace"),
                          expected, case.get("mask") or {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--helm", required=True)
    ap.add_argument("--dsc-helm", required=True)
    ap.add_argument("--only", help="comma-separated chart ids")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--known", help="file of 'chart case  reason' lines: differences not to fail on")
    ap.add_argument("extra", nargs="*", help="more arguments for both (after --)")
    args = ap.parse_args()
    root = os.path.join(args.corpus, "charts")
    only = set(args.only.split(",")) if args.only else None
    jobs = []
    for cid in sorted(os.listdir(root)):
        if only and cid not in only:
            continue
        for case in sorted(os.listdir(os.path.join(root, cid, "cases"))):
            jobs.append((cid, case, os.path.join(root, cid), os.path.join(root, cid, "cases", case)))
    results = {}
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futs = {pool.submit(check, args, c, d): (cid, case) for cid, case, c, d in jobs}
        for fut in cf.as_completed(futs):
            try:
                results[futs[fut]] = fut.result()
            except Exception as e:  # a harness bug must not pass as a match
                results[futs[fut]] = "harness error: %r" % e
    known = set()
    if args.known:
        for line in open(args.known):
            words = line.split()
            if len(words) >= 2 and not line.startswith("#"):
                known.add((words[0], words[1]))
    failed = unexpected = 0
    for key in sorted(results):
        if results[key]:
            failed += 1
            unexpected += key not in known
            print("%s %s %s: %s" % ("KNOWN" if key in known else "DIFF", key[0], key[1], results[key]))
        elif key in known:
            print("FIXED %s %s: matches now; remove it from %s" % (key[0], key[1], args.known))
    if failed > unexpected:
        print("%d of the differences are known differences of the renderer" % (failed - unexpected))
    print("helm-cli: %d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
