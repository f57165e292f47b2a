import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Asks an agent to discover and report now (tests, operators after a hardware change). */
export class ReportNowWork {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  reason?: string;
}
