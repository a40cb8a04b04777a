#!/usr/bin/env bash
# A throw-away Postfix instance for bench/lab.ts: listens on 127.0.0.1:${1:-2527}, refuses RCPT for contoso.com with
# the same 550 5.7.68 text the lab sends (a recipient reject map), and keeps its config and queue under /tmp.
# Run as root on a test machine with Debian's postfix installed (apt-get install postfix). Stop with:
#   postfix -c /tmp/eoplock-bench-postfix stop
set -euo pipefail
port="${1:-2527}"
dir=/tmp/eoplock-bench-postfix
spool=/tmp/eoplock-bench-postfix-spool
postfix -c "$dir" stop >/dev/null 2>&1 || true
rm -rf "$dir" "$spool"
mkdir -p "$dir" "$spool"
cp /etc/postfix/master.cf "$dir/master.cf"
cat > "$dir/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $spool
data_directory = $spool/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.postfix.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP
smtpd_recipient_restrictions = check_recipient_access hash:$dir/recipient_access, reject_unauth_destination
smtpd_relay_restrictions =
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s
maillog_file_prefixes = /tmp
maillog_file = $spool/maillog
smtpd_tls_security_level = none
CONF
sed -i "s/^smtp      inet  n       -       y       -       -       smtpd/$port      inet  n       -       n       -       -       smtpd/" "$dir/master.cf"
grep -q "^$port " "$dir/master.cf" || { echo "could not set the listening port in master.cf" >&2; exit 1; }
echo "contoso.com 550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources" > "$dir/recipient_access"
postmap -c "$dir" "$dir/recipient_access"
postfix -c "$dir" check
postfix -c "$dir" start
echo "Postfix listening on 127.0.0.1:$port (config $dir)"
