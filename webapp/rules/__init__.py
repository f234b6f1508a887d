"""Pure rules: what a token carries, how it is signed, how secrets are encrypted, which locales
and e-mails are acceptable. Plain functions and values; they import nothing of the app but each
other, so models and services both build on them."""
