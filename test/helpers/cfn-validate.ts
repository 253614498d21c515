/**
 * Static checks of a CloudFormation template against the CloudFormation resource specification that
 * `@aws-cdk/cfnspec` ships (the same JSON CloudFormation publishes, CDK patches included), and a wildcard
 * check of the IAM policies in it. Both return human-readable problems; an empty list means none found.
 *
 * What cannot be known before a deploy is accepted: an intrinsic function (`Ref`, `Fn::*`) stands for a
 * value of any type, though the names it refers to must exist.
 */
import { specification } from '@aws-cdk/cfnspec';

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  [attribute: string]: unknown;
}

export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
  [section: string]: unknown;
}

/** The fields of a property or property type that the checks read (the spec's own types are a wide union). */
interface SpecProperty {
  Required?: boolean;
  PrimitiveType?: string;
  Type?: string;
  ItemType?: string;
  PrimitiveItemType?: string;
  PrimitiveItemItemType?: string;
  PrimitiveTypes?: string[];
  Types?: string[];
  ItemTypes?: string[];
  PrimitiveItemTypes?: string[];
}

interface SpecType extends SpecProperty {
  Properties?: Record<string, SpecProperty>;
  Attributes?: Record<string, unknown>;
}

interface Spec {
  ResourceTypes: Record<string, SpecType>;
  PropertyTypes: Record<string, SpecType>;
}

let cachedSpec: Spec | undefined;
function spec(): Spec {
  cachedSpec ??= specification();
  return cachedSpec;
}

const RESOURCE_ATTRIBUTES = new Set([
  'Type',
  'Properties',
  'Condition',
  'DependsOn',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'CreationPolicy',
  'UpdatePolicy',
]);

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{ Ref: ... }` or `{ 'Fn::...': ... }`: a value only CloudFormation can compute. */
export function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || (keys[0] ?? '').startsWith('Fn::'));
}

const shown = (value: unknown): string =>
  Array.isArray(value)
    ? 'a list'
    : isRecord(value)
      ? 'an object'
      : `${typeof value} ${JSON.stringify(value)}`;

/** CloudFormation passes scalars as strings and converts them: "128" is a fine Integer, "true" a Boolean. */
function primitiveProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'String':
    case 'Timestamp':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? undefined
        : `expected ${type}, got ${shown(value)}`;
    case 'Integer':
    case 'Long':
      if (typeof value === 'number' && Number.isInteger(value)) return undefined;
      if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return undefined;
      return `expected ${type}, got ${shown(value)}`;
    case 'Double':
      if (typeof value === 'number' && Number.isFinite(value)) return undefined;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
        return undefined;
      return `expected Double, got ${shown(value)}`;
    case 'Boolean':
      if (typeof value === 'boolean') return undefined;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return undefined;
      return `expected Boolean, got ${shown(value)}`;
    case 'Json':
      return isRecord(value) || Array.isArray(value) || typeof value === 'string'
        ? undefined
        : `expected Json, got ${shown(value)}`;
    default:
      return `the specification names an unknown primitive type ${type}`;
  }
}

class Validator {
  readonly problems: string[] = [];

  constructor(private readonly template: Template) {}

  run(): string[] {
    if (!isRecord(this.template.Resources) || Object.keys(this.template.Resources).length === 0) {
      this.problems.push('Resources: a template needs at least one resource');
      return this.problems;
    }
    for (const [logicalId, resource] of Object.entries(this.template.Resources)) {
      this.resource(logicalId, resource);
    }
    this.references(this.template.Resources, 'Resources');
    if (this.template.Outputs) this.references(this.template.Outputs, 'Outputs');
    return this.problems;
  }

  private resource(logicalId: string, resource: TemplateResource): void {
    const path = `Resources.${logicalId}`;
    for (const attribute of Object.keys(resource)) {
      if (!RESOURCE_ATTRIBUTES.has(attribute))
        this.problems.push(`${path}.${attribute}: unknown resource attribute`);
    }
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      const value = resource[policy];
      if (value !== undefined && !['Delete', 'Retain', 'Snapshot', 'RetainExceptOnCreate'].includes(value))
        this.problems.push(`${path}.${policy}: ${JSON.stringify(value)} is not Delete, Retain or Snapshot`);
    }
    if (resource.Condition !== undefined && !(resource.Condition in (this.template.Conditions ?? {}))) {
      this.problems.push(`${path}.Condition: no condition named ${resource.Condition} in Conditions`);
    }
    const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    for (const target of dependsOn) {
      if (!(target in this.template.Resources))
        this.problems.push(`${path}.DependsOn: no resource named ${target}`);
    }
    if (typeof resource.Type !== 'string') {
      this.problems.push(`${path}.Type: missing`);
      return;
    }
    // Custom resources take any properties; only the service token is defined.
    if (resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource')
      return;
    const type = spec().ResourceTypes[resource.Type];
    if (!type) {
      this.problems.push(
        `${path}.Type: ${resource.Type} is not a resource type in the CloudFormation specification`,
      );
      return;
    }
    const properties: unknown = resource.Properties ?? {};
    if (isIntrinsic(properties)) return;
    this.record(`${path}.Properties`, properties, type.Properties ?? {}, resource.Type, resource.Type);
  }

  /** A set of named properties: unknown names, missing required ones, then each value. */
  private record(
    path: string,
    value: unknown,
    properties: Record<string, SpecProperty>,
    typeName: string,
    resourceType: string,
  ): void {
    if (!isRecord(value)) {
      this.problems.push(`${path}: expected an object of type ${typeName}, got ${shown(value)}`);
      return;
    }
    for (const name of Object.keys(value)) {
      if (!(name in properties)) this.problems.push(`${path}.${name}: unknown property for ${typeName}`);
    }
    for (const [name, property] of Object.entries(properties)) {
      const given = value[name];
      if (given === undefined) {
        if (property.Required)
          this.problems.push(`${path}.${name}: required property of ${typeName} missing`);
        continue;
      }
      this.value(`${path}.${name}`, given, property, resourceType);
    }
  }

  private value(path: string, value: unknown, property: SpecProperty, resourceType: string): void {
    if (isIntrinsic(value)) return;
    if (property.PrimitiveType) {
      this.primitive(path, property.PrimitiveType, value);
    } else if (property.Type === 'List') {
      if (!Array.isArray(value)) {
        this.problems.push(`${path}: expected a List, got ${shown(value)}`);
        return;
      }
      value.forEach((item: unknown, index) => this.item(`${path}[${index}]`, item, property, resourceType));
    } else if (property.Type === 'Map') {
      if (!isRecord(value)) {
        this.problems.push(`${path}: expected a Map, got ${shown(value)}`);
        return;
      }
      for (const [key, item] of Object.entries(value))
        this.item(`${path}.${key}`, item, property, resourceType);
    } else if (property.Type) {
      this.complex(path, value, property.Type, resourceType);
    } else if (property.PrimitiveTypes || property.Types) {
      this.union(path, value, property, resourceType);
    }
  }

  /** One element of a List or value of a Map. */
  private item(path: string, item: unknown, property: SpecProperty, resourceType: string): void {
    if (isIntrinsic(item)) return;
    if (property.PrimitiveItemType) {
      this.primitive(path, property.PrimitiveItemType, item);
    } else if (property.ItemType === 'List' && property.PrimitiveItemItemType) {
      // A Map of lists of primitives.
      this.value(
        path,
        item,
        { Type: 'List', PrimitiveItemType: property.PrimitiveItemItemType },
        resourceType,
      );
    } else if (property.ItemType) {
      this.complex(path, item, property.ItemType, resourceType);
    }
  }

  private primitive(path: string, type: string, value: unknown): void {
    const problem = primitiveProblem(type, value);
    if (problem) this.problems.push(`${path}: ${problem}`);
  }

  /** A named property type: `AWS::S3::Bucket.PublicAccessBlockConfiguration`, or a shared one like `Tag`. */
  private complex(path: string, value: unknown, typeName: string, resourceType: string): void {
    const qualified = `${resourceType}.${typeName}`;
    const type = spec().PropertyTypes[qualified] ?? spec().PropertyTypes[typeName];
    if (!type) {
      this.problems.push(`${path}: the specification has no property type ${qualified}`);
      return;
    }
    if (type.Properties) {
      this.record(
        path,
        value,
        type.Properties,
        spec().PropertyTypes[qualified] ? qualified : typeName,
        resourceType,
      );
    } else {
      // A property type that is an alias of a primitive, list or map.
      this.value(path, value, type, resourceType);
    }
  }

  /** Several types allowed (the SAM part of the spec): fine when any of them fits. */
  private union(path: string, value: unknown, property: SpecProperty, resourceType: string): void {
    for (const primitive of property.PrimitiveTypes ?? []) {
      if (primitiveProblem(primitive, value) === undefined) return;
    }
    for (const typeName of property.Types ?? []) {
      const attempt = new Validator(this.template);
      attempt.complex(path, value, typeName, resourceType);
      if (attempt.problems.length === 0) return;
    }
    const allowed = [...(property.PrimitiveTypes ?? []), ...(property.Types ?? [])].join(' | ');
    this.problems.push(`${path}: expected one of ${allowed}, got ${shown(value)}`);
  }

  /** Every Ref, Fn::GetAtt and Fn::Sub variable names a parameter, a resource (and its attribute) or a pseudo parameter. */
  private references(node: unknown, path: string): void {
    if (Array.isArray(node)) {
      node.forEach((item: unknown, index) => this.references(item, `${path}[${index}]`));
      return;
    }
    if (!isRecord(node)) return;
    const resources = this.template.Resources;
    const parameters = this.template.Parameters ?? {};
    for (const [key, inner] of Object.entries(node)) {
      if (key === 'Ref' && typeof inner === 'string') {
        if (!PSEUDO_PARAMETERS.has(inner) && !(inner in resources) && !(inner in parameters)) {
          this.problems.push(`${path}: Ref to ${inner}, which is no resource, parameter or pseudo parameter`);
        }
      } else if (key === 'Fn::GetAtt') {
        const [target, attribute] =
          typeof inner === 'string' ? inner.split(/\.(.*)/s) : Array.isArray(inner) ? inner : [];
        if (typeof target === 'string' && typeof attribute === 'string') this.getAtt(path, target, attribute);
      } else if (key === 'Fn::Sub') {
        const [text, variables] = typeof inner === 'string' ? [inner, {}] : Array.isArray(inner) ? inner : [];
        if (typeof text === 'string') this.subVariables(path, text, isRecord(variables) ? variables : {});
      } else if (key === 'Fn::If') {
        const condition: unknown = Array.isArray(inner) ? inner[0] : undefined;
        if (typeof condition !== 'string' || !(condition in (this.template.Conditions ?? {})))
          this.problems.push(
            `${path}: Fn::If names no condition in Conditions (${JSON.stringify(condition)})`,
          );
      }
      this.references(inner, `${path}.${key}`);
    }
  }

  private getAtt(path: string, target: string, attribute: string): void {
    const resource = this.template.Resources[target];
    if (!resource) {
      this.problems.push(`${path}: Fn::GetAtt of ${target}, which is no resource`);
      return;
    }
    const type = spec().ResourceTypes[resource.Type];
    if (type?.Attributes && !(attribute in type.Attributes)) {
      this.problems.push(
        `${path}: Fn::GetAtt ${target}.${attribute}: ${resource.Type} has no attribute ${attribute}`,
      );
    }
  }

  private subVariables(path: string, text: string, variables: Record<string, unknown>): void {
    // `${!Literal}` is an escaped, literal `${Literal}`.
    for (const match of text.matchAll(/\$\{(?!!)([^}]+)\}/g)) {
      const name = (match[1] ?? '').trim();
      if (name in variables || PSEUDO_PARAMETERS.has(name)) continue;
      const [target, attribute] = name.split(/\.(.*)/s);
      if (target === undefined) continue;
      if (attribute !== undefined) {
        this.getAtt(path, target, attribute);
      } else if (!(target in this.template.Resources) && !(target in (this.template.Parameters ?? {}))) {
        this.problems.push(
          `${path}: Fn::Sub variable \${${name}} is no resource, parameter or pseudo parameter`,
        );
      }
    }
  }
}

/** Problems that CloudFormation would reject the template for and that can be seen without deploying it. */
export function validateTemplate(template: Template): string[] {
  return new Validator(template).run();
}

/** The resources a value refers to: Ref, Fn::GetAtt and Fn::Sub variables (pseudo parameters left out). */
function referencedResources(
  node: unknown,
  resources: Record<string, unknown>,
  found = new Set<string>(),
): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) referencedResources(item, resources, found);
    return found;
  }
  if (!isRecord(node)) return found;
  for (const [key, inner] of Object.entries(node)) {
    if (key === 'Ref' && typeof inner === 'string' && inner in resources) found.add(inner);
    if (key === 'Fn::GetAtt') {
      const target: unknown =
        typeof inner === 'string' ? inner.split('.')[0] : Array.isArray(inner) ? inner[0] : undefined;
      if (typeof target === 'string' && target in resources) found.add(target);
    }
    if (key === 'Fn::Sub') {
      const text: unknown = typeof inner === 'string' ? inner : Array.isArray(inner) ? inner[0] : undefined;
      if (typeof text === 'string') {
        for (const match of text.matchAll(/\$\{(?!!)([^}.]+)[^}]*\}/g)) {
          const name = (match[1] ?? '').trim();
          if (name in resources) found.add(name);
        }
      }
    }
    referencedResources(inner, resources, found);
  }
  return found;
}

/** Each resource's dependencies as CloudFormation orders them: references and DependsOn. */
export function dependencyGraph(template: Template): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const dependencies = referencedResources(resource.Properties ?? {}, template.Resources);
    for (const target of resource.DependsOn === undefined ? [] : [resource.DependsOn].flat())
      dependencies.add(target);
    graph.set(logicalId, dependencies);
  }
  return graph;
}

/** Circular dependencies (CloudFormation refuses the template), each as `A → B → A`; empty when none. */
export function dependencyCycles(template: Template): string[] {
  const graph = dependencyGraph(template);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, trail: string[]): void => {
    const path = [...trail, node];
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next, path);
    }
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node, []);
  return cycles;
}

interface PolicyDocumentAt {
  path: string;
  document: unknown;
}

function identityPolicyDocuments(template: Template): PolicyDocumentAt[] {
  const documents: PolicyDocumentAt[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    const path = `Resources.${logicalId}.Properties`;
    if (['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'].includes(resource.Type)) {
      const policies = Array.isArray(properties.Policies) ? properties.Policies : [];
      policies.forEach((policy: unknown, index) => {
        if (isRecord(policy))
          documents.push({ path: `${path}.Policies[${index}]`, document: policy.PolicyDocument });
      });
    } else if (['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type)) {
      documents.push({ path, document: properties.PolicyDocument });
    }
  }
  return documents;
}

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Wildcards in what the stack's own identities are allowed: an Allow of Action `*` or `service:*`, or on
 * Resource `*`. (Deny statements, trust policies and resource policies are not identity grants.)
 */
export function policyProblems(template: Template): string[] {
  const problems: string[] = [];
  for (const { path, document } of identityPolicyDocuments(template)) {
    if (!isRecord(document)) continue;
    asList(document.Statement).forEach((statement: unknown, index) => {
      if (!isRecord(statement) || statement.Effect !== 'Allow') return;
      const where = `${path}.PolicyDocument.Statement[${index}]${typeof statement.Sid === 'string' ? ` (${statement.Sid})` : ''}`;
      for (const action of asList(statement.Action)) {
        if (action === '*' || (typeof action === 'string' && /^[\w-]+:\*$/.test(action))) {
          problems.push(`${where}: allows every action: Action ${action}`);
        }
      }
      if (statement.NotAction !== undefined)
        problems.push(`${where}: Allow with NotAction allows every other action`);
      for (const resource of asList(statement.Resource)) {
        if (resource === '*') problems.push(`${where}: allows on every resource: Resource *`);
      }
      if (statement.NotResource !== undefined) {
        problems.push(`${where}: Allow with NotResource allows on every other resource`);
      }
    });
  }
  return problems;
}
