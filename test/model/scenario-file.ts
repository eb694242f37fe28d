/**
 * The scenario file of the CLI contract (shared/spec/cli-contract.md, "Scenario file"), as plain
 * JSON types. The fuzz generators produce these objects; the real machine loads them through
 * parseScenario + loadMachine, the test model through its own {@link buildModel}.
 */
export interface ScenarioFile {
  partitions: ScenarioPartition[];
}

export interface ScenarioPartition {
  id: number;
  state?: "active" | "inactive";
  privileges?: string[];
  privilegeMask?: string;
  vps?: ScenarioVp[];
  ports?: ScenarioPort[];
  connections?: ScenarioConnection[];
  memory?: ScenarioMemory[];
}

export interface ScenarioVp {
  index: number;
  scontrol?: string;
  siefp?: string;
  simp?: string;
  sints?: Record<string, string>;
}

export interface ScenarioPort {
  id: number;
  type: "event" | "message" | "monitor";
  targetVp: number | "any";
  targetSint: number;
  baseFlagNumber?: number;
  flagCount?: number;
  deleted?: boolean;
}

export interface ScenarioConnection {
  id: number;
  portPartition: number;
  portId: number;
}

export interface ScenarioMemory {
  gpa: string;
  hex: string;
}
