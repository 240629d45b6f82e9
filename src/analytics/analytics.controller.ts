import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
import { parseSiteId, parseTeamId } from '../common/ids';
import { parseInput } from '../common/validation';
import {
  Anomalies,
  AnomaliesQuery,
  DryRunImpactAnalysis,
  DryRunImpactQuery,
  InvestigateIpInput,
  InvestigateIpQuery,
  IpInvestigation,
  QuotaStatus,
  SecurityBriefing,
  TrafficAnalysis,
  TrafficQuery,
} from './analytics.schemas';
import { AnalyticsService } from './analytics.service';

class TrafficQueryDto extends createZodDto(TrafficQuery) {}
class TrafficAnalysisDto extends createZodDto(TrafficAnalysis) {}
class DryRunImpactQueryDto extends createZodDto(DryRunImpactQuery) {}
class DryRunImpactDto extends createZodDto(DryRunImpactAnalysis) {}
class InvestigateIpQueryDto extends createZodDto(InvestigateIpQuery) {}
class IpInvestigationDto extends createZodDto(IpInvestigation) {}
class QuotaStatusDto extends createZodDto(QuotaStatus) {}
class AnomaliesQueryDto extends createZodDto(AnomaliesQuery) {}
class AnomaliesDto extends createZodDto(Anomalies) {}
class SecurityBriefingDto extends createZodDto(SecurityBriefing) {}

@ApiTags('analytics')
@ApiBearerAuth()
@Controller('v1')
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get('sites/:siteId/analytics/traffic')
  @Answers({ status: 200, type: TrafficAnalysisDto })
  traffic(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Query() query: TrafficQueryDto,
  ) {
    return this.analytics.traffic(actor, parseSiteId(siteId), query.days);
  }

  @Get('sites/:siteId/analytics/dry-run-impact')
  @Answers({ status: 200, type: DryRunImpactDto })
  dryRunImpact(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Query() query: DryRunImpactQueryDto,
  ) {
    return this.analytics.dryRunImpact(
      actor,
      parseSiteId(siteId),
      query.days,
      query.ruleId,
      query.cursor,
    );
  }

  @Get('sites/:siteId/analytics/ips/:ip')
  @Answers({ status: 200, type: IpInvestigationDto })
  investigateIp(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Param('ip') ip: string,
    @Query() query: InvestigateIpQueryDto,
  ) {
    const input = parseInput(InvestigateIpInput, { siteId, ip, days: query.days });
    return this.analytics.investigateIp(actor, parseSiteId(input.siteId), input.ip, input.days);
  }

  @Get('teams/:teamId/quota')
  @Answers({ status: 200, type: QuotaStatusDto })
  quota(@CurrentActor() actor: Actor, @Param('teamId') teamId: string) {
    return this.analytics.quota(actor, parseTeamId(teamId));
  }

  @Get('sites/:siteId/analytics/anomalies')
  @Answers({ status: 200, type: AnomaliesDto })
  anomalies(
    @CurrentActor() actor: Actor,
    @Param('siteId') siteId: string,
    @Query() query: AnomaliesQueryDto,
  ) {
    return this.analytics.anomalies(actor, parseSiteId(siteId), query.hours);
  }

  @Get('sites/:siteId/analytics/briefing')
  @Answers({ status: 200, type: SecurityBriefingDto })
  briefing(@CurrentActor() actor: Actor, @Param('siteId') siteId: string) {
    return this.analytics.briefing(actor, parseSiteId(siteId));
  }
}
