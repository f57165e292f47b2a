import { IsString, Matches } from 'class-validator';

/** `cyborg.conductor.heartbeat.<host>`: an agent is alive. Cheap: one upsert, no event unless the host was down. */
export class HeartbeatCommand {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;
}

export interface HeartbeatResult {
  /** True when this heartbeat brought a host marked down back up. */
  cameBack: boolean;
}
