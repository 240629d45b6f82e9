import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
import { parseDecisionId, parseSiteId } from '../common/ids';
import {
  DecisionExplanation,
  DecisionPage,
  DecisionView,
  ListDecisionsQuery,
} from './decisions.schemas';
import { DecisionsService } from './decisions.service';

class ListDecisionsQueryDto extends createZodDto(ListDecisionsQuery) {}
class DecisionDto extends createZodDto(DecisionView) {}
class DecisionPageDto extends createZodDto(DecisionPage) {}
class DecisionExplanationDto extends createZodDto(DecisionExplanation) {}

@ApiTags('decisions')
@ApiBearerAuth()
@Controller('v1')
export class DecisionsController {
  constructor(private readonly decisions: DecisionsService) {}

  @Get('sites/:siteId/decisions')
  @Answers({ status: 200, type: DecisionPageDto })
  list(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Query() query: ListDecisionsQueryDto,
  ) {
    return this.decisions.list(actor, parseSiteId(siteId), query);
  }

  @Get('decisions/:decisionId')
  @Answers({ status: 200, type: DecisionDto })
  get(@CurrentActor() actor: Actor, @Param('decisionId') decisionId: string) {
    return this.decisions.get(actor, parseDecisionId(decisionId));
  }

  @Get('decisions/:decisionId/explanation')
  @Answers({ status: 200, type: DecisionExplanationDto })
  explain(@CurrentActor() actor: Actor, @Param('decisionId') decisionId: string) {
    return this.decisions.explain(actor, parseDecisionId(decisionId));
  }
}
