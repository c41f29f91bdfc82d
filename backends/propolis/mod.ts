/**
 * The Propolis backend (illumos): each VM runs in its own zone, where an SMF
 * service runs the VM's own propolis-server on the zone's address; vmctl
 * drives it over its REST API. The VM's disk is a ZFS clone of its image's
 * volume; its NIC a viona VNIC in the zone; its addresses come from zone
 * pools (the zone registry is the ledger).
 *
 *   prepared --start--> zone booted -> server up -> ensure -> Run -> Running
 *   running  --stop---> Stop -> Stopped/Destroyed -> console saved -> zone halted
 *
 * A stopped instance cannot run again (illumos-facts.md §7.4): halting the
 * zone ends its server, so each start boots the zone and ensures anew.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { describeAction, plan, type Step } from "../../lib/plan.ts";
import { PROPOLIS_API_VERSION, PROPOLIS_PORT, propolisHeaders } from "../../lib/propolis/api.ts";
import { vmZoneName } from "../../lib/propolis/layout.ts";
import { ensureRequest } from "../../lib/propolis/ensure.ts";
import type { PropolisParts, VmRecord } from "../../lib/types.ts";
import { apply, taskStep } from "../apply.ts";
import type { Hypervisor, StateReport } from "../hypervisor.ts";
import { createRunner, type Runner } from "../exec.ts";
import { zoneState, zoneStep, zoneUndo } from "../zones/system.ts";
import { PropolisClient } from "./client.ts";
import { propolisPrepareSteps } from "./prepare.ts";
import { destroyPropolisVm } from "./destroy.ts";
import { consoleLogOf, stopPropolisVm } from "./stop.ts";
import { captureSerial } from "./serial.ts";

/** How long a booting zone may take to bring its propolis-server up. */
const SERVER_UP_TIMEOUT_MS = 120_000;
/** How long an instance may take from Run to Running. */
const RUNNING_TIMEOUT_MS = 120_000;

export const propolisBackend: Hypervisor = {
  tag: "propolis",

  prepareSteps: propolisPrepareSteps,

  prepare() {
    // The create plan takes prepareSteps instead; nothing calls this.
    return Promise.reject(new Error("the Propolis backend prepares through prepareSteps"));
  },

  async start(vm, ctx) {
    // Each start is a new server and a new instance: a new id keys its console history.
    const p = { ...partsOf(vm), instance_uuid: crypto.randomUUID() };
    await apply(startPlan(vm, p, ctx.runner, await zoneState(ctx.runner, p.zone)), {
      what: `starting VM '${vm.name}'`,
    });
    return { ...vm, propolis: p, state: "running", state_reason: null };
  },

  async stop(vm, timeoutMs, ctx) {
    await stopPropolisVm(vm, partsOf(vm), timeoutMs, ctx.runner);
    return { ...vm, state: "stopped", state_reason: null };
  },

  refuses(action, name) {
    return unsupported(name, action);
  },

  suspend(vm) {
    return Promise.reject(unsupported(vm.name, "suspend"));
  },

  resume(vm) {
    return Promise.reject(unsupported(vm.name, "resume"));
  },

  async destroy(vm, ctx) {
    if (!vm.propolis) return;
    await destroyPropolisVm(vm, vm.propolis, ctx);
  },

  async state(vm, ctx): Promise<StateReport> {
    if (!vm.propolis) return { state: vm.state };
    const zone = await zoneState(ctx.runner, vm.propolis.zone);
    if (zone === undefined) {
      return { state: "failed", reason: `its zone ${vm.propolis.zone} is gone` };
    }
    if (zone !== "running") {
      if (vm.state === "running") {
        return { state: "stopped", reason: `its zone ${vm.propolis.zone} is ${zone}` };
      }
      return { state: vm.state };
    }
    const client = new PropolisClient(vm.propolis.server, vm.name);
    const instance = await client.instanceState().catch(() => undefined);
    if (instance === "Running" || instance === "Starting" || instance === "Rebooting") {
      return { state: "running" };
    }
    if (vm.state !== "running") return { state: vm.state };
    return {
      state: "failed",
      reason: instance === undefined
        ? `its propolis-server at ${vm.propolis.server} does not answer`
        : `the instance is ${instance ?? "not created"}`,
    };
  },

  guestIp(vm) {
    const p = partsOf(vm);
    if (!p.guest_address) {
      return Promise.reject(
        new Diagnostic(
          "vmctl::propolis::no_guest_address",
          `VM '${vm.name}' has no known address`,
          {
            hint:
              'give the guest an address from a pool: `network "vnic" { pool "NAME" }` in the VMFile, then recreate it',
          },
        ),
      );
    }
    return Promise.resolve({ host: p.guest_address.split("/")[0], port: vm.ssh_port ?? 22 });
  },

  explain(action, name, vm) {
    const zone = vmZoneName(name);
    if (vm?.propolis) {
      const steps = action === "start"
        ? startPlan(vm, vm.propolis, createRunner(), undefined).steps
        : stopPlanDescription(vm.propolis);
      return steps.flatMap((s) => describeAction(s.action)).join("\n");
    }
    const server = `http://<address of zone ${zone}>:${PROPOLIS_PORT}`;
    return (action === "start"
      ? [
        `$ zoneadm -z ${zone} boot`,
        `GET ${server}/instance until it answers`,
        `PUT ${server}/instance (api-version: ${PROPOLIS_API_VERSION}): InstanceEnsureRequest with the VM's vCPUs and memory, disk0 (its ZFS clone), the cloud-init seed (read-only), net0 (its VNIC), com1, boot from disk0`,
        `PUT ${server}/instance/state "Run"`,
        `GET ${server}/instance/state-monitor {"gen": N} until Running`,
      ]
      : [
        `PUT ${server}/instance/state "Stop", then GET ${server}/instance/state-monitor until Stopped`,
        `GET ${server}/instance/serial/history into the work dir's console.log`,
        `$ zoneadm -z ${zone} halt`,
      ]).join("\n");
  },

  consoleEndpoint(vm) {
    if (!vm.propolis) return { kind: "none", reason: "it was never prepared" };
    return { kind: "websocket", url: `ws://${vm.propolis.server}/instance/serial` };
  },

  async captureConsole(vm) {
    const p = partsOf(vm);
    await captureSerial(p.server, consoleLogOf(vm), { instance: p.instance_uuid });
  },
};

/** The stop's requests and commands, for `--dry-run`. */
function stopPlanDescription(p: PropolisParts): Step[] {
  const client = new PropolisClient(p.server, "");
  const none = () => Promise.resolve();
  return [
    httpStep("stop the instance", client, "PUT", "/instance/state", "Stop", none),
    {
      title: "follow it until it stopped",
      action: {
        kind: "task",
        detail: `GET ${client.url("/instance/state-monitor")} {"gen": N} until Stopped`,
      },
      run: none,
    },
    {
      title: "keep the console output",
      action: {
        kind: "task",
        detail: `GET ${client.url("/instance/serial/history")} into the work dir's console.log`,
      },
      run: none,
    },
    {
      title: "halt the zone",
      action: { kind: "run", argv: ["zoneadm", "-z", p.zone, "halt"] },
      run: none,
    },
  ];
}

function partsOf(vm: VmRecord): PropolisParts {
  if (vm.propolis) return vm.propolis;
  throw new Diagnostic(
    "vmctl::propolis::not_prepared",
    `VM '${vm.name}' has no Propolis parts recorded`,
    { hint: `its create did not finish: \`vmctl destroy ${vm.name}\` removes it` },
  );
}

function unsupported(name: string, what: string): Diagnostic {
  return new Diagnostic(
    "vmctl::propolis::unsupported",
    `Propolis cannot ${what} a VM (VM '${name}')`,
    { hint: `stop it with \`vmctl stop ${name}\` and start it again later` },
  );
}

/**
 * Boot the zone (a zone left running from a failed start is halted first:
 * its server holds a dead instance), wait for the server, ensure, Run,
 * follow the instance to Running. A failure halts the zone again.
 */
export function startPlan(
  vm: VmRecord,
  p: PropolisParts,
  runner: Runner,
  zone: string | undefined,
): ReturnType<typeof plan> {
  const client = new PropolisClient(p.server, vm.name);
  const body = ensureRequest({
    name: vm.name,
    instanceUuid: p.instance_uuid,
    interfaceUuid: p.interface_uuid,
    vcpus: vm.vcpus,
    memoryMb: vm.memory_mb,
    diskDataset: p.disk_dataset,
    seed: Boolean(vm.seed_iso_path),
    guestVnic: p.guest_vnic,
  });
  const halt = ["zoneadm", "-z", p.zone, "halt"];
  const steps: Step[] = [];
  if (zone === "running" || zone === "ready") {
    steps.push(
      zoneStep(
        runner,
        "halt the zone left from an earlier start",
        halt,
        `see \`zoneadm -z ${p.zone} list -v\``,
      ),
    );
  }
  steps.push(
    zoneStep(
      runner,
      "boot the VM's zone",
      ["zoneadm", "-z", p.zone, "boot"],
      `see \`zoneadm -z ${p.zone} list -v\``,
      {
        undo: zoneUndo(runner, halt, { zone: p.zone, states: ["running", "ready"] }),
      },
    ),
    taskStep(
      "wait for the zone's propolis-server",
      `GET ${client.url("/instance")} until it answers`,
      () => client.waitUp(SERVER_UP_TIMEOUT_MS),
    ),
    httpStep("create the instance", client, "PUT", "/instance", body, () => client.ensure(body)),
    httpStep(
      "run the instance",
      client,
      "PUT",
      "/instance/state",
      "Run",
      () => client.requestState("Run"),
    ),
    taskStep(
      "follow the instance until it runs",
      `GET ${client.url("/instance/state-monitor")} with {"gen": N} until Running`,
      async () => {
        const state = await client.waitForState(["Running"], RUNNING_TIMEOUT_MS, [
          "Failed",
          "Destroyed",
          "Stopped",
        ]);
        if (state !== "Running") {
          throw new Diagnostic(
            "vmctl::propolis::start_failed",
            `VM '${vm.name}' did not start: the instance is ${state}`,
            {
              hint:
                `the guest's console: \`vmctl log ${vm.name} --console\`; the server's log is in zone ${p.zone}`,
            },
          );
        }
      },
    ),
  );
  return plan(`start VM '${vm.name}' on Propolis`, steps);
}

function httpStep(
  title: string,
  client: PropolisClient,
  method: string,
  path: string,
  body: unknown,
  run: () => Promise<unknown>,
): Step {
  return {
    title,
    action: { kind: "http", method, url: client.url(path), headers: propolisHeaders(true), body },
    run,
  };
}
