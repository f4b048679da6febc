#!/usr/bin/env bash
# A nightly cron job over a growing folder of PDFs:
#   15 2 * * *  /path/to/longtask/scripts/cron-example.sh /srv/pdfs >>/var/log/longtask-cron.log 2>&1
#
# Unchanged documents are cache hits, so only new ones are processed. Exit status:
# 0 all good, 4 dead documents or a health threshold tripped, 124 timeout (the job
# keeps going and the next run picks it up), 3 backend down; anything else is a bug.
set -u
folder=${1:?usage: cron-example.sh FOLDER}
longtask=${LONGTASK:-longtask}

# Give documents that died last time another go (a no-op when there are none).
"$longtask" retry-failed >/dev/null || exit $?

# Process what is new, with local workers, for at most 55 minutes.
"$longtask" run "$folder" --timeout "${LONGTASK_CRON_TIMEOUT:-3300}"
status=$?
if [ "$status" -eq 4 ]; then
    echo "dead documents:" >&2
    "$longtask" dead latest >&2
fi

# Alert on the fleet as a whole.
"$longtask" health --max-dead 0 --max-stalled 0 --max-oldest-age 86400 || status=$?
exit "$status"
