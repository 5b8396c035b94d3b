// Small helpers for stack.sh that need portable process and HTTP handling.
// Node is a hard requirement of the local stack anyway (fauxqs), so using it
// here avoids depending on setsid, curl or ps being installed.
//
//   node stack-helper.mjs spawn LOGFILE PIDFILE CMD [ARGS...]
//       start CMD detached in its own session/process group (pgid == pid),
//       stdout+stderr to LOGFILE (truncated), stdin from /dev/null; write the
//       pid to PIDFILE.
//   node stack-helper.mjs probe dynamodb|sqs|tcp PORT
//       exit 0 when the service on 127.0.0.1:PORT answers (one attempt).
//   node stack-helper.mjs wait dynamodb|sqs PORT PID TIMEOUT_SECONDS
//       poll until ready (exit 0), the process PID died (exit 2) or the
//       timeout expired (exit 3).

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

const [cmd, ...args] = process.argv.slice(2);

function probeHTTP(kind, port) {
  const url = `http://127.0.0.1:${port}/`;
  let init = { signal: AbortSignal.timeout(2000) };
  if (kind === "sqs") {
    init = {
      ...init,
      method: "POST",
      headers: {
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0",
      },
      body: "{}",
    };
  }
  return fetch(url, init).then(
    async (res) => {
      await res.arrayBuffer().catch(() => {});
      // DynamoDB Local answers any HTTP request (400 for a bare GET): an
      // answer means it is up. SQS must really answer ListQueues.
      return kind === "sqs" ? res.status === 200 : true;
    },
    () => false,
  );
}

function probeTCP(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: Number(port) });
    s.setTimeout(1000);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(false));
  });
}

function probe(kind, port) {
  return kind === "tcp" ? probeTCP(port) : probeHTTP(kind, port);
}

function alive(pid) {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

switch (cmd) {
  case "spawn": {
    const [log, pidfile, prog, ...rest] = args;
    const fd = fs.openSync(log, "w");
    const child = spawn(prog, rest, {
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.once("error", (e) => {
      console.error(`cannot start ${prog}: ${e.message}`);
      process.exit(1);
    });
    child.once("spawn", () => {
      fs.writeFileSync(pidfile, `${child.pid}\n`);
      child.unref();
      process.exit(0);
    });
    break;
  }
  case "probe": {
    const [kind, port] = args;
    process.exit((await probe(kind, port)) ? 0 : 1);
    break;
  }
  case "wait": {
    const [kind, port, pid, timeout] = args;
    const deadline = Date.now() + Number(timeout) * 1000;
    for (;;) {
      if (await probe(kind, port)) process.exit(0);
      if (!alive(pid)) process.exit(2);
      if (Date.now() > deadline) process.exit(3);
      await sleep(200);
    }
  }
  default:
    console.error("usage: stack-helper.mjs spawn|probe|wait ...");
    process.exit(64);
}
