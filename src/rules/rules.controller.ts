import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { openApiSchema, ZodPipe } from '../common/zod-pipe';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
import { PageQueryDto } from '../common/dto';
import { parseRuleId, parseSiteId } from '../common/ids';
import { CreateRuleInput, RulePage, RuleView, UpdateRuleInput } from './rules.schemas';
import { RulesService } from './rules.service';

class UpdateRuleDto extends createZodDto(UpdateRuleInput) {}
class RuleDto extends createZodDto(RuleView) {}
class RulePageDto extends createZodDto(RulePage) {}

@ApiTags('rules')
@ApiBearerAuth()
@Controller('v1')
export class RulesController {
  constructor(private readonly rules: RulesService) {}

  @Post('sites/:siteId/rules')
  @Answers({
    status: 201,
    type: RuleDto,
    conflict:
      'The site already has the most rules a site may have; delete a rule or widen an existing one instead.',
  })
  @ApiBody({ schema: openApiSchema(CreateRuleInput) })
  create(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Body(new ZodPipe(CreateRuleInput)) body: CreateRuleInput,
  ) {
    return this.rules.create(actor, parseSiteId(siteId), body);
  }

  @Get('sites/:siteId/rules')
  @Answers({ status: 200, type: RulePageDto })
  list(@CurrentActor() actor: Actor, @Param('siteId') siteId: string, @Query() page: PageQueryDto) {
    return this.rules.list(actor, parseSiteId(siteId), page);
  }

  @Get('rules/:ruleId')
  @Answers({ status: 200, type: RuleDto })
  get(@CurrentActor() actor: Actor, @Param('ruleId') ruleId: string) {
    return this.rules.get(actor, parseRuleId(ruleId));
  }

  @Patch('rules/:ruleId')
  @Answers({ status: 200, type: RuleDto })
  update(
    @CurrentActor() actor: Actor,
    @Param('ruleId') ruleId: string,
    @Body() body: UpdateRuleDto,
  ) {
    return this.rules.update(actor, parseRuleId(ruleId), body);
  }

  @Post('rules/:ruleId/promote')
  @Answers({ status: 200, type: RuleDto })
  promote(@CurrentActor() actor: Actor, @Param('ruleId') ruleId: string) {
    return this.rules.promote(actor, parseRuleId(ruleId));
  }

  @Post('rules/:ruleId/demote')
  @Answers({ status: 200, type: RuleDto })
  demote(@CurrentActor() actor: Actor, @Param('ruleId') ruleId: string) {
    return this.rules.demote(actor, parseRuleId(ruleId));
  }

  @Delete('rules/:ruleId')
  @Answers({ status: 204 })
  delete(@CurrentActor() actor: Actor, @Param('ruleId') ruleId: string) {
    return this.rules.delete(actor, parseRuleId(ruleId));
  }
}
