#!/usr/bin/env bash
# Side-by-side benchmark: `manage.py bench` of an older commit and of a newer one
# (default HEAD) in the same session, on the same machine, on identically seeded
# databases; prints each case's ratio against its peer (admin changelist, naive DRF)
# for both trees and new/old. Issue 14's bar: new/old >= 0.90 for every case.
#
#   scripts/bench_compare.sh [options] OLD_REF [NEW_REF]      (make bench-compare OLD=...)
#
#   --numbers N        numbers to seed and bench (default 1000000)
#   --repeats N        bench --repeats (default 50)
#   --rounds N         bench runs per tree, alternating which goes first (default 2)
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
# versions of this checkout's .venv), old.env / new.env (SECRET_KEY and the credential
# key each database was seeded with: delete one only together with its database),
# results/<time>/ (each run's bench report and log, and compare.md).
# A re-run skips the seed when a database already holds --numbers numbers.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

NUMBERS=1000000 REPEATS=50 ROUNDS=2 LOAD_SECONDS=10 RESEED=0 PREPARE_ONLY=0
ARGS=()
while (($#)); do
    case $1 in
        --numbers) NUMBERS=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --load-seconds) LOAD_SECONDS=$2; shift 2 ;;
        --reseed) RESEED=1; shift ;;
        --prepare-only) PREPARE_ONLY=1; shift ;;
        -h|--help) usage ;;
        -*) echo "unknown option $1" >&2; usage ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
((${#ARGS[@]} >= 1 && ${#ARGS[@]} <= 2)) || usage
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
    hash=$(cat "$deps" "$CONSTRAINTS" | sha256sum | cut -c1-12)
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

# --- Bench: ROUNDS runs per tree, alternating which one goes first ----------------
OUT=$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
{
    echo "old ${REF[old]} ${SHA[old]} db ${DB[old]}"
    echo "new ${REF[new]} ${SHA[new]} db ${DB[new]}"
    echo "numbers $NUMBERS repeats $REPEATS rounds $ROUNDS load-seconds $LOAD_SECONDS"
} >"$OUT/setup.txt"
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
"$PYTHON" - "$OUT" "$ROUNDS" >"$OUT/compare.md" <<'PY'
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
cat "$OUT/compare.md"
log "reports, logs and compare.md in $OUT; databases ${DB[old]} and ${DB[new]} kept"
