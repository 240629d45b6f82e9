import { createZodDto } from 'nestjs-zod';
import { PageQuery } from './pagination';

export class PageQueryDto extends createZodDto(PageQuery) {}
