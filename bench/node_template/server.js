// The vendor's Node/Express token server template, rebuilt to do the same work per request as
// it ships: its locked versions (package.json, package-lock.json: express 4.16.4,
// jsonwebtoken 8.4.0, cors 2.8.5, body-parser 1.18.3), x-powered-by off, bodyParser.json() on
// the app, an /auth router with cors({origin: [https://<UI_SERVER>, localhost]}) on every
// route, GET and POST /authorize logging one line and answering {success, url, jwt}, HS256,
// 30 minutes, one process. Only bench/token_bench.py runs it, and only with those versions.
const express = require("express");
const bodyParser = require("body-parser");
const cors = require("cors");
const jwt = require("jsonwebtoken");

const PORT = Number(process.env.PORT || 3000);
const UI_SERVER = process.env.UI_SERVER || "www.example.com";
const SESSION_SERVER = process.env.SESSION_SERVER || "dh.soulmachines.cloud";
const ORCHESTRATION_SERVER = process.env.ORCHESTRATION_SERVER || "";
const KEY_NAME = process.env.KEY_NAME || "bench-issuer";
const PRIVATE_KEY = process.env.PRIVATE_KEY || "k".repeat(32);

const app = express();
app.disable("x-powered-by");
app.use(bodyParser.json());

const router = express.Router();
router.use(cors({ origin: [`https://${UI_SERVER}`, /https?:\/\/localhost(:[0-9]{0,5})?/] }));

function authorize(req, res) {
  console.log(`${req.method} /auth/authorize`);
  const payload = {
    "sm-control": ORCHESTRATION_SERVER,
    "sm-control-via-browser": Boolean(ORCHESTRATION_SERVER),
    "sm-session-server": SESSION_SERVER,
    iss: KEY_NAME,
  };
  const token = jwt.sign(payload, PRIVATE_KEY, { algorithm: "HS256", expiresIn: "30m" });
  res.json({ success: true, url: `wss://${SESSION_SERVER}`, jwt: token });
}

router.get("/authorize", authorize);
router.post("/authorize", authorize);
app.use("/auth", router);

app.listen(PORT, "127.0.0.1", () => console.log(`listening on ${PORT}`));
