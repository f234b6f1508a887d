// "Get a token": calls the token endpoint the way the vendor's web component does
// (`const {url, jwt} = await res.json()`) and shows the decoded header and claims.
"use strict";

function decodePart(part) {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

async function getToken(viewer) {
  const error = document.getElementById("token-error");
  const result = document.getElementById("token-result");
  error.hidden = true;
  try {
    const res = await fetch(viewer.dataset.endpoint, { method: "POST", credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok || !body.success) {
      throw new Error(body.error || `The token endpoint answered ${res.status}.`);
    }
    const { url, jwt } = body;
    const [header, claims] = jwt.split(".").slice(0, 2).map(decodePart);
    show("token-url", url);
    show("token-expires", `${body.expires_at} (${new Date(body.expires_at * 1000).toLocaleString()})`);
    show("token-header", JSON.stringify(header, null, 2));
    show("token-claims", JSON.stringify(claims, null, 2));
    show("token-jwt", jwt);
    result.hidden = false;
  } catch (problem) {
    result.hidden = true;
    error.textContent = problem.message;
    error.hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const viewer = document.getElementById("token-viewer");
  document.getElementById("get-token").addEventListener("click", () => getToken(viewer));
});
