import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { requestBaseUrl } from '../http/links';
import { MAX_MICROVERSION, MIN_MICROVERSION, Versioned } from '../http/microversion';

const DESCRIPTION =
  'Cyborg is the OpenStack project for lifecycle management of hardware accelerators, such as GPUs,FPGAs, AI chips, security accelerators, etc.';

/**
 * Version discovery (Cyborg §3). keystoneauth (the CLI, openstacksdk) reads
 * these without a token and then uses the `self` href as the service URL, so
 * it points at where this server really serves v2, not at upstream's
 * hardcoded `/accelerator` prefix.
 */
@Controller()
export class VersionsController {
  @Get()
  root(@Req() request: Request) {
    const version = {
      id: 'v2',
      status: 'CURRENT',
      max_version: MAX_MICROVERSION.toString(),
      min_version: MIN_MICROVERSION.toString(),
      links: [{ href: `${requestBaseUrl(request)}/v2`, rel: 'self' }],
    };
    return { name: 'OpenStack Cyborg API', description: DESCRIPTION, versions: [version], default_version: version };
  }
}

/** `GET /v2` and `GET /v2/`: the bare v2 document, with the microversion headers. */
@Controller('v2')
@Versioned()
export class V2Controller {
  @Get()
  v2(@Req() request: Request) {
    return {
      id: 'v2.0',
      links: [{ href: `${requestBaseUrl(request)}/v2`, rel: 'self' }],
      max_version: MAX_MICROVERSION.toString(),
      min_version: MIN_MICROVERSION.toString(),
      status: 'CURRENT',
    };
  }
}
