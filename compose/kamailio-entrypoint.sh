#!/bin/sh
# Kamailio in FreeSWITCH's network namespace (compose/compose.yaml): the lab's kamailio.cfg with the
# dispatcher over FreeSWITCH's SIP profile; SIP, kamcmd and JSON-RPC on the namespace's own address (never a
# wildcard; the host publishes them on 127.0.0.1 only). No carrier: outbound calls go to the Request-URI.
set -eu
address=$(hostname -i | cut -d' ' -f1)
run=/tmp/kamailio
mkdir -p "$run"
echo "1 sip:${address}:${FREESWITCH_SIP_PORT:-5060}" > "$run/dispatcher.list"
exec /usr/sbin/kamailio -f /etc/kamailio-lab/kamailio.cfg -DD -E \
  -l "udp:${address}:${KAMAILIO_SIP_PORT:-5070}" -Y "$run" -P "$run/kamailio.pid" -w "$run" -m 256 -M 8 \
  -A "DISPATCHER_LIST=\"$run/dispatcher.list\"" \
  -A "CTL_SOCKET=\"tcp:${address}:${KAMAILIO_CTL_PORT:-2049}\"" \
  -A "JSONRPC_SOCKET=\"udp:${address}:${KAMAILIO_RPC_PORT:-2050}\"" \
  -A "FR_TIMER_MS=${FR_TIMER_MS:-1000}"
