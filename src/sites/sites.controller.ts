import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
import { PageQueryDto } from '../common/dto';
import { parseSiteId, parseTeamId } from '../common/ids';
import {
  CreatedSiteView,
  CreateSiteInput,
  SiteKeyView,
  SitePage,
  SiteView,
  UpdateSiteInput,
} from './sites.schemas';
import { SitesService } from './sites.service';

class CreateSiteDto extends createZodDto(CreateSiteInput) {}
class UpdateSiteDto extends createZodDto(UpdateSiteInput) {}
class SiteDto extends createZodDto(SiteView) {}
class CreatedSiteDto extends createZodDto(CreatedSiteView) {}
class SitePageDto extends createZodDto(SitePage) {}
class SiteKeyDto extends createZodDto(SiteKeyView) {}

@ApiTags('sites')
@ApiBearerAuth()
@Controller('v1')
export class SitesController {
  constructor(private readonly sites: SitesService) {}

  @Post('teams/:teamId/sites')
  @Answers({ status: 201, type: CreatedSiteDto })
  create(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Body() body: CreateSiteDto,
  ) {
    return this.sites.create(actor, parseTeamId(teamId), body);
  }

  @Get('teams/:teamId/sites')
  @Answers({ status: 200, type: SitePageDto })
  list(@CurrentActor() actor: Actor, @Param('teamId') teamId: string, @Query() page: PageQueryDto) {
    return this.sites.list(actor, parseTeamId(teamId), page);
  }

  @Get('sites/:siteId')
  @Answers({ status: 200, type: SiteDto })
  get(@CurrentActor() actor: Actor, @Param('siteId') siteId: string) {
    return this.sites.get(actor, parseSiteId(siteId));
  }

  @Patch('sites/:siteId')
  @Answers({ status: 200, type: SiteDto })
  update(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Body() body: UpdateSiteDto,
  ) {
    return this.sites.update(actor, parseSiteId(siteId), body);
  }

  @Delete('sites/:siteId')
  @Answers({ status: 204 })
  delete(@CurrentActor() actor: Actor, @Param('siteId') siteId: string) {
    return this.sites.delete(actor, parseSiteId(siteId));
  }

  @Get('sites/:siteId/key')
  @Answers({ status: 200, type: SiteKeyDto })
  readKey(@CurrentActor() actor: Actor, @Param('siteId') siteId: string) {
    return this.sites.readKey(actor, parseSiteId(siteId));
  }

  @Post('sites/:siteId/key/rotate')
  @Answers({ status: 200, type: SiteKeyDto })
  rotateKey(@CurrentActor() actor: Actor, @Param('siteId') siteId: string) {
    return this.sites.rotateKey(actor, parseSiteId(siteId));
  }
}
