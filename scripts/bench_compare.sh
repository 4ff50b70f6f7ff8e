#!/usr/bin/env bash
# Side-by-side benchmark: `manage.py bench` of an older commit and of a newer one
# (default HEAD) in the same session, on the same machine, on identically seeded
# databases; prints each case's ratio against its peer (admin changelist, naive DRF)
# for both trees and new/old. Issue 14's bar: new/old >= 0.90 for every case.
#
#   scripts/bench_compare.sh [options] OLD_REF [NEW_REF]      (make bench-compare OLD=...)
#
#   --mode M           bench: `manage.py bench` of each tree, --rounds times, one tree
#                      after the other; interleaved: the same cases measured by one
#                      long-lived process per tree, alternating old and new every few
#                      requests (--blocks times), so both see the same machine load;
#                      both (default): bench, then interleaved
#   --numbers N        numbers to seed and bench (default 1000000)
#   --repeats N        requests per case, as bench --repeats (default 50)
#   --rounds N         bench runs per tree, alternating which goes first (default 2)
#   --blocks N         interleaved: the requests of each case split in N blocks (default 5)
#   --load-seconds N   bench --load-seconds (default 10)
#   --reseed           drop and re-create both databases, then seed again
#   --prepare-only     clone, install, migrate and seed; do not bench
#
# Environment: BENCH_DIR (work dir, kept between runs; default ../bench-compare beside
# the checkout), BENCH_PG (server URL; default postgres://postgres@127.0.0.1:5432),
# BENCH_DB_OLD / BENCH_DB_NEW (default bench_old / bench_new), PYTHON (python3).
#
# What it keeps in BENCH_DIR: old/ and new/ (clones of this repository at the two
# commits; uncommitted edits are not included), venv-<hash>/ (one per distinct
# dependency list: shared when both trees need the same packages, pinned to the
# versions of this checkout's .venv when made), old.env / new.env (SECRET_KEY and the
# credential key each database was seeded with: delete one only together with its
# database), results/<time>/ (each bench run's report and log, the interleaved
# workers' logs, and compare.md, the tables printed at the end).
# A re-run skips the seed when a database already holds --numbers numbers.
set -euo pipefail

usage() { sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

NUMBERS=1000000 REPEATS=50 ROUNDS=2 BLOCKS=5 LOAD_SECONDS=10 RESEED=0 PREPARE_ONLY=0 MODE=both
ARGS=()
while (($#)); do
    case $1 in
        --numbers) NUMBERS=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --blocks) BLOCKS=$2; shift 2 ;;
        --mode) MODE=$2; shift 2 ;;
        --load-seconds) LOAD_SECONDS=$2; shift 2 ;;
        --reseed) RESEED=1; shift ;;
        --prepare-only) PREPARE_ONLY=1; shift ;;
        -h|--help) usage ;;
        -*) echo "unknown option $1" >&2; usage ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
((${#ARGS[@]} >= 1 && ${#ARGS[@]} <= 2)) || usage
[[ $MODE =~ ^(bench|interleaved|both)$ ]] || { echo "--mode: bench, interleaved or both" >&2; exit 2; }
OLD_REF=${ARGS[0]}
NEW_REF=${ARGS[1]:-HEAD}

REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
BENCH_DIR=${BENCH_DIR:-$(dirname "$REPO")/bench-compare}
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PYTHON=${PYTHON:-python3}
declare -A DB=([old]=${BENCH_DB_OLD:-bench_old} [new]=${BENCH_DB_NEW:-bench_new})
declare -A REF=([old]=$OLD_REF [new]=$NEW_REF)
declare -A SHA TREE VENV

for side in old new; do
    case ${DB[$side]} in
        test | test_* | postgres | template0 | template1 | "")
            echo "refusing to use database '${DB[$side]}' for the bench" >&2; exit 2 ;;
    esac
    SHA[$side]=$(git -C "$REPO" rev-parse --verify "${REF[$side]}^{commit}")
done
[[ ${DB[old]} != "${DB[new]}" ]] || { echo "the two databases must differ" >&2; exit 2; }

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
psql_admin() { psql "$BENCH_PG/postgres" -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- Trees: a clean clone per side at its commit ---------------------------------
for side in old new; do
    TREE[$side]=$BENCH_DIR/$side
    tree=${TREE[$side]}
    if [[ -d $tree/.git ]] && [[ $(git -C "$tree" rev-parse HEAD) == "${SHA[$side]}" ]] &&
        [[ -z $(git -C "$tree" status --porcelain --untracked-files=no) ]]; then
        log "$side: $tree already at ${SHA[$side]:0:7}"
    else
        rm -rf "$tree"
        git clone --quiet --no-checkout "$REPO" "$tree"
        git -C "$tree" -c advice.detachedHead=false checkout --quiet --detach "${SHA[$side]}"
        log "$side: cloned ${REF[$side]} (${SHA[$side]:0:7}) to $tree"
    fi
done

# --- Virtual environments: one per distinct runtime dependency list ---------------
# The project itself is not installed: manage.py runs from its tree, which Python
# puts first on sys.path. Versions are pinned to this checkout's .venv when it has one.
CONSTRAINTS=$BENCH_DIR/constraints.txt
if [[ -x $REPO/.venv/bin/python ]]; then
    "$REPO/.venv/bin/python" -m pip freeze --exclude-editable 2>/dev/null |
        grep -v -i -E '^(switchboard|-e )' >"$CONSTRAINTS.tmp" || true
    mv "$CONSTRAINTS.tmp" "$CONSTRAINTS"
else
    : >"$CONSTRAINTS"
fi
for side in old new; do
    deps=$BENCH_DIR/$side.requirements.txt
    "$PYTHON" - "${TREE[$side]}/pyproject.toml" >"$deps" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(sorted(tomllib.load(f)["project"]["dependencies"])))
PY
    hash=$(sha256sum <"$deps" | cut -c1-12) # pinned when first made, then kept
    venv=$BENCH_DIR/venv-$hash
    VENV[$side]=$venv
    if [[ ! -f $venv/.installed ]]; then
        log "$side: creating $venv"
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
        { "$venv/bin/python" -m pip install --upgrade pip &&
            "$venv/bin/python" -m pip install -c "$CONSTRAINTS" -r "$deps"; } >"$venv.log" 2>&1 ||
            { echo "pip install failed: $venv.log" >&2; tail -20 "$venv.log" >&2; exit 1; }
        touch "$venv/.installed"
    fi
done
[[ ${VENV[old]} == "${VENV[new]}" ]] && log "both trees share ${VENV[old]} (same dependencies)"

# --- .env per tree, kept beside the database it sealed ---------------------------
declare -A FRESH_ENV
for side in old new; do
    envfile=$BENCH_DIR/$side.env
    FRESH_ENV[$side]=0
    if [[ ! -f $envfile ]]; then
        (cd "${TREE[$side]}" && "$PYTHON" scripts/write_env.py "$envfile" >/dev/null)
        FRESH_ENV[$side]=1
    fi
    cp "$envfile" "${TREE[$side]}/.env"
done

# What make bench sets (Makefile, target bench); DATABASE_URL per side. And
# STAFF_TOTP_REQUIRED=false: with DEBUG off a superuser without a TOTP device is
# redirected to the second-factor setup (since 5f20912), so the bench's client would
# time redirects of every console page and the CSV export would fail.
run_manage() { # side, manage.py arguments...
    local side=$1; shift
    (cd "${TREE[$side]}" && env DEBUG=false SWITCHBOARD_DEVTOOLS=true LOG_LEVEL=WARNING \
        SECURE_SSL_REDIRECT=false ALLOWED_HOSTS=testserver,127.0.0.1,localhost \
        STAFF_TOTP_REQUIRED=false \
        DATABASE_URL="$BENCH_PG/${DB[$side]}" "${VENV[$side]}/bin/python" manage.py "$@")
}

# --- Databases: create, migrate, seed (skipped when already seeded) ---------------
count_numbers() { # after migrate
    run_manage "$1" shell --verbosity 0 -c \
        "from phone_numbers.models import PhoneNumber; print(PhoneNumber.objects.count())"
}
for side in old new; do
    db=${DB[$side]}
    exists=$(psql_admin -t -A -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
    if [[ $exists == 1 && $RESEED == 1 ]]; then
        log "$side: dropping database $db (--reseed)"
        psql_admin -c "DROP DATABASE \"$db\" WITH (FORCE)"
        exists=
    fi
    if [[ $exists != 1 ]]; then
        psql_admin -c "CREATE DATABASE \"$db\""
        log "$side: created database $db"
    fi
    log "$side: migrate"
    run_manage "$side" migrate --noinput >/dev/null
    have=$(count_numbers "$side")
    if ((have == NUMBERS)); then
        if ((FRESH_ENV[$side])); then
            echo "$side: $db holds $have numbers sealed with a key this run no longer has" \
                "($BENCH_DIR/$side.env is new): re-run with --reseed" >&2
            exit 1
        fi
        log "$side: $db already holds $have numbers; no seed"
    elif ((have == 0)); then
        log "$side: seeding $NUMBERS numbers into $db"
        started=$SECONDS
        run_manage "$side" seed_demo --numbers "$NUMBERS" >"$BENCH_DIR/$side.seed.log" 2>&1 ||
            { echo "seed_demo failed: $BENCH_DIR/$side.seed.log" >&2; tail -20 "$BENCH_DIR/$side.seed.log" >&2; exit 1; }
        tail -1 "$BENCH_DIR/$side.seed.log"
        log "$side: seeded in $((SECONDS - started)) s"
    else
        echo "$side: $db holds $have numbers, not $NUMBERS: use --reseed or --numbers $have" >&2
        exit 1
    fi
done

# The bench never looks at status codes: check that the pages it times answer 200
# (as the bench's own staff user, which it creates when missing) in both trees.
for side in old new; do
    run_manage "$side" shell --verbosity 0 -c '
from django.test import Client
from users.models import User
staff = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
    "bench@switchboard.local", None)
web = Client()
web.force_login(staff)
for path in ("/numbers/?size=50", "/admin/numbers/phonenumber/?q=Billing"):
    status = web.get(path).status_code
    assert status == 200, f"{path}: {status}, not 200"
' 2>"$BENCH_DIR/$side.preflight.log" ||
        { echo "$side: a page the bench times does not answer 200" >&2
          tail -3 "$BENCH_DIR/$side.preflight.log" >&2; exit 1; }
done
((PREPARE_ONLY)) && { log "prepared; databases ${DB[old]} and ${DB[new]}"; exit 0; }

OUT=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
{
    echo "old ${REF[old]} ${SHA[old]} db ${DB[old]}"
    echo "new ${REF[new]} ${SHA[new]} db ${DB[new]}"
    echo "numbers $NUMBERS repeats $REPEATS rounds $ROUNDS load-seconds $LOAD_SECONDS"
} >"$OUT/setup.txt"
: >"$OUT/compare.md"

# --- Bench: ROUNDS runs per tree, alternating which one goes first ----------------
if [[ $MODE != interleaved ]]; then
for ((round = 1; round <= ROUNDS; round++)); do
    order=(old new)
    ((round % 2 == 0)) && order=(new old)
    for side in "${order[@]}"; do
        log "round $round: bench $side (${SHA[$side]:0:7})"
        started=$SECONDS
        run_manage "$side" bench --numbers "$NUMBERS" --repeats "$REPEATS" \
            --load-seconds "$LOAD_SECONDS" --output "$OUT/$side-$round.md" \
            >"$OUT/$side-$round.log" 2>&1 ||
            { echo "bench $side failed: $OUT/$side-$round.log" >&2; tail -20 "$OUT/$side-$round.log" >&2; exit 1; }
        echo "$side $round $((SECONDS - started)) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/wall.txt"
        log "round $round: $side took $((SECONDS - started)) s"
    done
done

# --- Side-by-side table ------------------------------------------------------------
"$PYTHON" - "$OUT" "$ROUNDS" >>"$OUT/compare.md" <<'PY'
import re, statistics, sys
from pathlib import Path

out, rounds = Path(sys.argv[1]), int(sys.argv[2])
setup = (out / "setup.txt").read_text().splitlines()


def parse(path):
    """The bench report's table and CSV/load lines: {case: (ours, q, peer, peer_q)}."""
    rows, extra = {}, {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 8 and cells[1][:1].isdigit():
            peer = float(cells[4]) if cells[4] else None
            rows[cells[0]] = (float(cells[1]), cells[3], peer, cells[6])
        elif m := re.search(r"CSV export of ([\d,]+) rows: ([\d.]+) s, ([\d,]+) rows/s", line):
            extra["CSV export rows/s"] = float(m.group(3).replace(",", ""))
        elif m := re.search(r"([\d.]+) requests/s", line):
            extra["loopback load requests/s"] = float(m.group(1))
    return rows, extra


runs = {s: [parse(out / f"{s}-{r}.md") for r in range(1, rounds + 1)] for s in ("old", "new")}
med = statistics.median
print(f"# bench, old vs new ({', '.join(setup)})\n")
print("Ratio = peer p50 / ours p50 (higher is better), median of the rounds; "
      "p50 in ms, median of the rounds. new/old < 0.90 fails issue 14's bar. "
      "Queries: one request's count, each round's when they differ.\n")
print("| case | old ours | old peer | old ratio | new ours | new peer | new ratio "
      "| new/old | queries old→new |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
worse = []
for case in runs["old"][0][0]:
    o = [r[0][case] for r in runs["old"]]
    n = [r[0].get(case) for r in runs["new"]]
    if None in n:
        print(f"| {case} | (missing in new) |")
        continue
    def counts(runs, i):  # one figure, or each round's when they differ
        seen = [x[i] for x in runs]
        return seen[0] if len(set(seen)) == 1 else "/".join(seen)

    q = f"{counts(o, 1)}→{counts(n, 1)}" + (
        f" (peer {counts(o, 3)}→{counts(n, 3)})" if o[0][2] else "")
    if o[0][2] is None:  # no peer: compare our own times (new/old time; lower is better)
        oo, nn = med(x[0] for x in o), med(x[0] for x in n)
        print(f"| {case} | {oo:.1f} | | | {nn:.1f} | | | time {nn / oo:.2f} | {q} |")
        continue
    ro, rn = med(x[2] / x[0] for x in o), med(x[2] / x[0] for x in n)
    flag = " **worse**" if rn / ro < 0.90 else ""
    if flag:
        worse.append(case)
    print(f"| {case} | {med(x[0] for x in o):.1f} | {med(x[2] for x in o):.1f} | {ro:.2f}x "
          f"| {med(x[0] for x in n):.1f} | {med(x[2] for x in n):.1f} | {rn:.2f}x "
          f"| {rn / ro:.2f}{flag} | {q} |")
for key in runs["old"][0][1]:
    oo = med(r[1][key] for r in runs["old"])
    nn = med(r[1][key] for r in runs["new"])
    print(f"| {key} | {oo:,.0f} | | | {nn:,.0f} | | | {nn / oo:.2f} | |")
if rounds > 1:  # round r pairs old run r with new run r (run back to back)
    print("\nnew/old of the ratio in each round:\n")
    print("| case | " + " | ".join(f"round {r + 1}" for r in range(rounds)) + " |")
    print("|---|" + "---:|" * rounds)
    for case, (_ours, _q, peer, _pq) in runs["old"][0][0].items():
        if peer is None or case not in runs["new"][0][0]:
            continue
        cells = []
        for o, n in zip(runs["old"], runs["new"]):
            (oo, _, op, _), (no, _, np_, _) = o[0][case], n[0][case]
            cells.append(f"{(np_ / no) / (op / oo):.2f}")
        print(f"| {case} | " + " | ".join(cells) + " |")
walls = (out / "wall.txt").read_text().split("\n")
print("\nWall time per bench run (s; load average 1/5/15 min at its end): " + ", ".join(
    f"{w.split()[0]} round {w.split()[1]}: {w.split()[2]} ({' '.join(w.split()[3:])})"
    for w in walls if w))
print("\n" + (f"{len(worse)} case(s) more than 10% worse: " + "; ".join(worse)
              if worse else "No case more than 10% worse."))
PY
fi

# --- Interleaved: one process per tree, old and new alternating every few requests -
if [[ $MODE != bench ]]; then
    cat >"$OUT/worker.py" <<'PY'
"""One tree's side of the interleaved comparison, run from the tree's directory.

Sets up what ``manage.py bench`` sets up (the same cases, labels, peers and
warm-ups; the naive DRF views come from the tree's own bench module), then
answers one JSON request per line on stdin: time ``n`` calls of one measurable.
"""
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
reply_to = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # anything else printed goes to the log, not into the replies

import django

django.setup()
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, reset_queries, transaction
from django.test import Client
from rest_framework.test import APIRequestFactory, force_authenticate

from core.pagination import page_of
from phone_numbers import queries
from phone_numbers.models import PhoneNumber
from phone_numbers.queries import NumberFilters
from users.models import User
from users.services import api_token_create

try:
    from devtools.management.commands import bench as B
except ImportError:  # before the layers restructure
    from core.management.commands import bench as B

request_started.disconnect(reset_queries)
request_started.disconnect(close_old_connections)
request_finished.disconnect(close_old_connections)
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE")  # as the bench does before measuring

repeats = int(sys.argv[1])
staff = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
    "bench@switchboard.local", None)
web = Client()
web.force_login(staff)
hx = {"HTTP_HX_REQUEST": "true"}
owner = User.objects.filter(is_staff=False, phone_numbers__isnull=False).order_by("email").first()
_, token = api_token_create(user=owner, name="bench")
auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
number = PhoneNumber.objects.filter(user=owner).order_by("number").first()
digits = number.number[2:8]
deep = B.Command()._cursor_at(500_000)

measurables = {}  # name: (call, warm-up, requests in all, aside), as the bench counts them
rows = []  # (label, ours, peer or None)
# The table scans that the trigram cases compare with run on a connection of their
# own. The bench runs them after all of the index runs of the same statement; here
# they alternate, and on one connection the plans cached for the prepared statement
# under "index scans off" (and their costs) would leak into the index runs.
aside = ThreadPoolExecutor(max_workers=1)


def get(path, **headers):
    return lambda: web.get(path, **headers)


def add(name, call, total, warmup=B.WARMUP, apart=False):
    measurables[name] = (call, warmup, total, apart)
    return name


few = max(5, repeats // 3)
for label, ours, theirs in [  # bench.py, Command.handle: inventory_cases
    ("first page", "", ""),
    ("deep page (row offset 500,000; ours by its Next link)", f"after={deep}", "p=10001"),
    (f"6-digit number search '{digits}'", f"q={digits}", f"q={digits}"),
    ("label search 'Billing'", "q=Billing", "q=Billing"),
    ("provider + active filters", "provider=telnyx&active=yes",
     "telephony_provider__exact=telnyx&active__exact=1"),
    ("sorted by label", "sort=label", "o=2"),
]:
    # Named by label, not URL: a cursor is signed with each tree's own SECRET_KEY.
    admin = add(f"admin, {label}", get(f"/admin/numbers/phonenumber/?{theirs}"), few, 2)
    frag = add(f"fragment, {label}", get(f"/numbers/?size=50&{ours}", **hx), repeats)
    full = add(f"full page, {label}", get(f"/numbers/?size=50&{ours}"), repeats)
    rows += [(f"inventory fragment, {label}", frag, admin),
             (f"inventory full page, {label}", full, admin)]

factory = APIRequestFactory()


def naive(optimised, page, size):
    view = B.naive_view(optimised)

    def call():
        request = factory.get("/naive", {"page": page, "size": size})
        force_authenticate(request, user=owner)
        response = view(request)
        response.render()
        return response

    return call


for size, page in ((10, 1), (50, 1), (100, 1), (10, 1000), (100, 200)):
    ours = add(f"api {size} {page}", get(f"/v1/numbers/list?size={size}&page={page}", **auth),
               repeats)
    peer = add(f"drf {size} {page}", naive(True, page, size), few)
    raw = add(f"naive {size} {page}", naive(False, page, size), max(3, repeats // 10), 1)
    rows += [(f"API list size {size} page {page} vs DRF select_related", ours, peer),
             (f"API list size {size} page {page} vs DRF without", ours, raw)]

for label, text in [(f"8-digit number search '{number.number[-8:]}'", number.number[-8:]),
                    ("search matching nothing 'zzqx'", "zzqx")]:
    def run(text=text):
        page_of(queries.inventory(filters=NumberFilters(q=text)), page=1, size=50)

    def without(run=run):
        with transaction.atomic(), connection.cursor() as cursor:
            for setting in ("bitmapscan", "indexscan", "indexonlyscan"):
                cursor.execute(f"SET LOCAL enable_{setting} = off")
            run()

    rows.append((f"{label}: trigram index vs table scan (query only)",
                 add(f"trigram {text}", run, repeats), add(f"scan {text}", without, few, 1, True)))
rows.append(("number detail page", add("detail", get(f"/numbers/{number.pk}/"), repeats), None))
rows.append(("GET /v1/numbers", add("v1 get", get(
    f"/v1/numbers?phone_number=%2B{number.number[1:]}", **auth), repeats), None))



def measure(call, ask):
    """Warm-up, one counted call (first block), then ask["n"] timed calls."""
    for _ in range(ask["warmup"]):
        call()
    answer = {}
    if ask["count"]:
        executed = []

        def count(execute, sql, params, many, context):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = call()
        answer["queries"] = len(executed)
        answer["status"] = getattr(response, "status_code", None)
    wall, cpu = [], []
    for _ in range(ask["n"]):
        started, used = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return {**answer, "wall": wall, "cpu": cpu}


reply_to.write(json.dumps({"rows": rows, "measurables": {
    k: [w, n] for k, (_c, w, n, _a) in measurables.items()}}) + "\n")
for line in sys.stdin:
    ask = json.loads(line)
    call, _w, _n, apart = measurables[ask["name"]]
    answer = aside.submit(measure, call, ask).result() if apart else measure(call, ask)
    reply_to.write(json.dumps(answer) + "\n")
PY
    log "interleaved: $BLOCKS blocks of each case, old and new alternating"
    started=$SECONDS
    (export DEBUG=false SWITCHBOARD_DEVTOOLS=true LOG_LEVEL=WARNING SECURE_SSL_REDIRECT=false \
        ALLOWED_HOSTS=testserver,127.0.0.1,localhost STAFF_TOTP_REQUIRED=false \
        DB_STATEMENT_TIMEOUT_MS=1800000 DB_LOCK_TIMEOUT_MS=60000
     "$PYTHON" - "$OUT" "$REPEATS" "$BLOCKS" \
        "${TREE[old]}" "${VENV[old]}/bin/python" "$BENCH_PG/${DB[old]}" \
        "${TREE[new]}" "${VENV[new]}/bin/python" "$BENCH_PG/${DB[new]}" \
        >>"$OUT/compare.md" <<'PY'
import json, math, os, statistics, subprocess, sys, time
from pathlib import Path

out, repeats, blocks = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sides = {"old": sys.argv[4:7], "new": sys.argv[7:10]}
workers, hello = {}, {}
for side, (tree, python, url) in sides.items():
    workers[side] = subprocess.Popen(
        [python, str(out / "worker.py"), str(repeats)], cwd=tree, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=open(out / f"interleaved-{side}.log", "w"), env={**os.environ, "DATABASE_URL": url})
for side, worker in workers.items():
    line = worker.stdout.readline()
    if not line:
        sys.exit(f"interleaved: the {side} worker stopped: {out}/interleaved-{side}.log")
    hello[side] = json.loads(line)
if [r[0] for r in hello["old"]["rows"]] != [r[0] for r in hello["new"]["rows"]]:
    print("\nThe two trees' cases differ (not the same seed?); comparing by position.",
          file=sys.stderr)


def ask(side, **request):
    workers[side].stdin.write(json.dumps(request) + "\n")
    workers[side].stdin.flush()
    line = workers[side].stdout.readline()
    if not line:
        sys.exit(f"interleaved: the {side} worker stopped: {out}/interleaved-{side}.log")
    return json.loads(line)


samples = {s: {name: {"wall": [], "cpu": [], "blocks": []} for name in hello[s]["measurables"]}
           for s in sides}
info = {s: {} for s in sides}
started = time.monotonic()
for block in range(blocks):
    order = ("old", "new") if block % 2 == 0 else ("new", "old")
    for name, (warmup, total) in hello["old"]["measurables"].items():
        n = max(1, math.ceil(total / blocks))
        for side in order:
            got = ask(side, name=name, n=n, warmup=warmup if block == 0 else min(1, warmup),
                      count=block == 0)
            if block == 0:
                info[side][name] = (got["queries"], got["status"])
            kept = samples[side][name]
            kept["wall"] += got["wall"]
            kept["cpu"] += got["cpu"]
            kept["blocks"].append(statistics.median(got["wall"]))
    print(f"interleaved: block {block + 1} of {blocks} done after "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
for worker in workers.values():
    worker.stdin.close()
    worker.wait(timeout=60)

med = statistics.median
bad_status = [f"{s} {n}: {st}" for s in sides for n, (_q, st) in info[s].items()
              if st not in (None, 200)]
print(f"\n# Interleaved, old vs new ({blocks} blocks; each block measures every case "
      f"in both trees back to back, the first tree alternating; {time.monotonic() - started:.0f} s)\n")
print("Ratio = peer p50 / ours p50 over all blocks (higher is better); new/old below 0.90 "
      "fails issue 14's bar. Blocks worse: blocks whose own new/old is below 0.90. "
      "CPU = ours' Django-process CPU ms per request (p50), which waiting for a core does "
      "not inflate (PostgreSQL's time is not in it).\n")
if bad_status:
    print("**Not 200**: " + "; ".join(bad_status) + "\n")
print("| case | old ours | old peer | old ratio | new ours | new peer | new ratio | new/old "
      "| blocks worse | CPU old→new | queries old→new |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
worse = []
for (label, ours, peer), (_l, n_ours, n_peer) in zip(hello["old"]["rows"], hello["new"]["rows"]):
    o, n = samples["old"], samples["new"]
    oo, no = med(o[ours]["wall"]), med(n[n_ours]["wall"])
    cpu = f"{med(o[ours]['cpu']):.1f}→{med(n[n_ours]['cpu']):.1f}"
    q = f"{info['old'][ours][0]}→{info['new'][n_ours][0]}"
    if peer is None:
        print(f"| {label} | {oo:.1f} | | | {no:.1f} | | | time {no / oo:.2f} | | {cpu} | {q} |")
        continue
    op, np_ = med(o[peer]["wall"]), med(n[n_peer]["wall"])
    ro, rn = op / oo, np_ / no
    per_block = [(b_np / b_no) / (b_op / b_oo) for b_oo, b_op, b_no, b_np in zip(
        o[ours]["blocks"], o[peer]["blocks"], n[n_ours]["blocks"], n[n_peer]["blocks"])]
    flag = " **worse**" if rn / ro < 0.90 else ""
    if flag:
        worse.append(label)
    q += f" (peer {info['old'][peer][0]}→{info['new'][n_peer][0]})"
    print(f"| {label} | {oo:.1f} | {op:.1f} | {ro:.2f}x | {no:.1f} | {np_:.1f} | {rn:.2f}x "
          f"| {rn / ro:.2f}{flag} | {sum(r < 0.9 for r in per_block)}/{len(per_block)} "
          f"| {cpu} | {q} |")
print("\n" + (f"{len(worse)} case(s) more than 10% worse: " + "; ".join(worse)
              if worse else "No case more than 10% worse."))
PY
    ) || { echo "interleaved comparison failed (logs in $OUT)" >&2; exit 1; }
    log "interleaved: $((SECONDS - started)) s"
fi

cat "$OUT/compare.md"
log "reports, logs and compare.md in $OUT; databases ${DB[old]} and ${DB[new]} kept"
