// A stand-in of the vendor's Node/Express token server template, built the same way: one
// process, Express, `cors` and `jsonwebtoken`, HS256, 30 minutes, no sign-in, no database,
// answering {success, url, jwt}. Only bench/token_bench.py runs it.
const express = require("express");
const cors = require("cors");
const jwt = require("jsonwebtoken");

const PORT = Number(process.env.PORT || 3000);
const SESSION_SERVER = process.env.SESSION_SERVER || "dh.soulmachines.cloud";
const KEY_NAME = process.env.KEY_NAME || "bench-issuer";
const PRIVATE_KEY = process.env.PRIVATE_KEY || "k".repeat(32);

const app = express();
app.use(cors());

app.get("/ping", (req, res) => res.send("1"));

app.get("/auth/authorize", (req, res) => {
  const payload = {
    iss: KEY_NAME,
    "sm-session-server": SESSION_SERVER,
    "sm-control-via-browser": false,
  };
  const token = jwt.sign(payload, PRIVATE_KEY, { algorithm: "HS256", expiresIn: "30m" });
  res.json({ success: true, url: `wss://${SESSION_SERVER}`, jwt: token });
});

app.listen(PORT, "127.0.0.1", () => console.log(`listening on ${PORT}`));
