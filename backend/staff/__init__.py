"""The back end's staff web consoles: the review console (remote verification staff) and the
fleet page (technicians), behind one sign-in (password and TOTP, server-side sessions).

- `accounts`: staff users, scrypt password hashes, RFC 6238 one-time codes, lockout;
- `sessions`: session cookies, idle and absolute timeouts, CSRF tokens;
- `web`: the HTML pages under /staff (not part of the kiosk API's OpenAPI document);
- `review`: the queue of cases sent to staff, the case page, decisions;
- `evidence`: what a case keeps of each evidence submission for review;
- `notify`: telling residents of a decision through a pluggable notifier;
- `retention`: purging evidence after the final decision, and old heartbeats;
- `fleet`: kiosk state from heartbeats (online, stale, offline) and device alerts.
"""
