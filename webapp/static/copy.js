// "Copy" buttons: <button data-copy="ID"> copies the text of the element with that id, as
// shown (a list gives one item a line).
"use strict";

async function copyText(button) {
  const text = document.getElementById(button.dataset.copy).innerText;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (problem) {
    button.textContent = "Select and copy by hand";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", () => copyText(button));
  }
});
