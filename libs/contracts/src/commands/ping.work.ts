import { IsOptional, IsString, MaxLength } from 'class-validator';

export class PingWork {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  from?: string;
}

export interface PingReply {
  hostname: string;
  drivers: string[];
  startedAt: string;
}
