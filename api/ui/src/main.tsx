// The shell: header with navigation, theme switch and token; the pages by URL (every view has
// its own address, so it can be pasted into a chat).

import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Link, Route, Switch } from "wouter-preact";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { getHealth, NEEDS_TOKEN, setToken, token, type Health } from "./api";
import { Compare } from "./pages/Compare";
import { Pipeline } from "./pages/Pipeline";
import { Pipelines } from "./pages/Pipelines";
import { Run } from "./pages/Run";

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("fastlane.theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function ThemeSwitch() {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      class="ghost"
      aria-label={`Switch to the ${next} theme`}
      onClick={() => {
        localStorage.setItem("fastlane.theme", next);
        document.documentElement.dataset.theme = next;
        setTheme(next);
        window.dispatchEvent(new Event("fastlane-theme"));
      }}
    >
      {theme === "dark" ? "☀ light" : "☾ dark"}
    </button>
  );
}

/** Asks for the service's token when a request was refused, or when the user opens it. */
function TokenDialog({ auth }: { auth: Health["auth"] | null }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState("");
  const [refused, setRefused] = useState(false);
  const [held, setHeld] = useState(token() !== null);
  useEffect(() => {
    const ask = () => {
      setRefused(token() !== null);
      if (!dialog.current?.open) dialog.current?.showModal();
    };
    window.addEventListener(NEEDS_TOKEN, ask);
    return () => window.removeEventListener(NEEDS_TOKEN, ask);
  }, []);
  // The dialog is always there (a refused request may come before /healthz answers); the
  // button only when the service has a token.
  return (
    <>
      {auth !== null && auth !== "none" && (
        <button type="button" class="ghost" onClick={() => dialog.current?.showModal()}>
          {held ? "🔑 token set" : "🔑 token"}
        </button>
      )}
      <dialog ref={dialog} aria-labelledby="token-title">
        <form
          method="dialog"
          onSubmit={() => {
            setToken(value.trim() || null);
            setHeld(value.trim() !== "");
            setValue("");
          }}
        >
          <h2 id="token-title">This service needs a token</h2>
          <p>
            {auth !== "writes"
              ? "Reading pipelines, runs and logs needs the bearer token the service was started with (--token, --protect-reads)."
              : "Changes need the bearer token the service was started with (--token)."}
          </p>
          {refused && (
            <p class="error-text" role="alert">
              The token given was refused.
            </p>
          )}
          <label>
            Token{" "}
            <input
              type="password"
              name="token"
              autocomplete="off"
              value={value}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
            />
          </label>
          <p class="muted">Kept in this browser tab only (session storage), sent as Authorization: Bearer.</p>
          <div class="actions">
            <button type="submit" class="primary">
              Use this token
            </button>
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

function App() {
  const [auth, setAuth] = useState<Health["auth"] | null>(null);
  useEffect(() => {
    getHealth().then(
      (h) => setAuth(h.auth),
      () => setAuth(null),
    );
  }, []);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          fastlane
        </Link>
        <nav aria-label="main">
          <Link href="/">Pipelines</Link>
          <a href="/docs">API docs</a>
        </nav>
        <div class="spacer" />
        <TokenDialog auth={auth} />
        <ThemeSwitch />
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/">{() => <Pipelines />}</Route>
          <Route path="/pipelines/:id">{(p: { id: string }) => <Pipeline id={decodeURIComponent(p.id)} />}</Route>
          <Route path="/runs/:id">{(p: { id: string }) => <Run id={decodeURIComponent(p.id)} />}</Route>
          <Route path="/compare">{() => <Compare />}</Route>
          <Route>
            <p>
              Nothing here. <Link href="/">Back to the pipelines</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}

document.documentElement.dataset.theme = initialTheme();
render(<App />, document.getElementById("app")!);
