"""Where a request is guarded: the body limit and protective headers (`security`), what no
input may hold (`input_guard`), the rate limits (`rate_limits`) and the bounded password
hashing (`password_hashing`)."""
